import { describe, expect, it } from 'vitest';
import { type GpuJsMode, getGpuJs, hasGpuJs, kernelBackend } from '../src/backend/gpujs.js';
import { getWebGPUDevice } from '../src/backend/webgpu.js';
import { NqBackendError, NqInputError } from '../src/errors.js';
import { Rng } from '../src/rng.js';

// A real gpu.js kernel (matrix-vector product y = A·x) in every mode this machine offers, against the
// same product computed here in float64. float32 accumulation over `cols` terms of size ~1 gives an
// error around cols·2^-24·|terms|; 1e-4 absolute is far above that and far below any indexing mistake.
const rows = 96;
const cols = 80;
const rng = new Rng(7);
const A = Array.from({ length: rows }, () => Array.from({ length: cols }, () => rng.normal()));
const x = Array.from({ length: cols }, () => rng.normal());
const want = A.map((row) => row.reduce((s, a, j) => s + a * x[j]!, 0));

function matVec(
  this: { thread: { x: number }; constants: { cols: number } },
  a: number[][],
  v: number[],
): number {
  let s = 0;
  for (let j = 0; j < this.constants.cols; j++) s += a[this.thread.x]![j]! * v[j]!;
  return s;
}

// headlessgl needs the native `gl` build and an X display; CI and developer machines have neither.
const headless = await hasGpuJs('headlessgl');
const modes: { mode: GpuJsMode; skip: string | false }[] = [
  { mode: 'cpu', skip: false },
  { mode: 'webasm', skip: false },
  { mode: 'webgpu', skip: false },
  { mode: 'headlessgl', skip: headless ? false : 'native `gl` module not built / no X display' },
];

describe.each(modes)('gpu.js $mode', ({ mode, skip }) => {
  it.skipIf(skip)(`computes A·x like the float64 reference${skip ? ` (skipped: ${skip})` : ''}`, async () => {
    const ctx = await getGpuJs(mode);
    expect(ctx.mode).toBe(mode);
    const kernel = ctx.gpu.createKernel(matVec, { output: [rows], constants: { cols } });
    const y = (await kernel(A, x)) as Float32Array;
    // No silent fallback to gpu.js's cpu kernel: the kernel really ran on the mode asked for.
    expect(kernelBackend(kernel)).toBe(mode);
    expect(y.length).toBe(rows);
    let maxErr = 0;
    for (let i = 0; i < rows; i++) maxErr = Math.max(maxErr, Math.abs(y[i]! - want[i]!));
    expect(maxErr).toBeLessThan(1e-4);
    kernel.destroy?.();
  });
});

describe('gpu.js webasm under the async contract', () => {
  it('runs a large asyncMode kernel (the worker-pool path) exactly like the definition', async () => {
    const { gpu } = await getGpuJs('webasm');
    const n = 8192; // ≥ 4096 output cells engage gpu.js's worker pool
    const k = gpu.createKernel(
      function (this: { thread: { x: number } }) {
        const i = this.thread.x;
        // Every intermediate is an integer below 2^24, so float32 evaluates it exactly.
        return (i % 1024) * 3 - 7 + Math.floor(i / 1024);
      },
      { output: [n], asyncMode: true },
    );
    const y = (await k()) as Float32Array;
    expect(kernelBackend(k)).toBe('webasm');
    for (let i = 0; i < n; i++)
      if (y[i] !== (i % 1024) * 3 - 7 + Math.floor(i / 1024)) expect.fail(`y[${i}] = ${y[i]}`);
    k.destroy?.();
  });
});

describe('gpu.js webgpu mode and nq share one device', () => {
  it('reports nq adapter and keeps raw nq WebGPU work running after gpu.js kernels', async () => {
    const ctx = await getGpuJs('webgpu');
    const nq = await getWebGPUDevice();
    expect(ctx.adapterName).toBe(nq.adapterName);
    const k = ctx.gpu.createKernel(
      function (this: { thread: { x: number } }, v: number[]) {
        return v[this.thread.x]! * 2;
      },
      { output: [16] },
    );
    const doubled = (await k(Array.from({ length: 16 }, (_, i) => i))) as Float32Array;
    expect(Array.from(doubled)).toEqual(Array.from({ length: 16 }, (_, i) => 2 * i));
    const { createStorageBuffer, readBuffer } = await import('../src/backend/webgpu.js');
    const buf = createStorageBuffer(nq.device, Float32Array.from([1, 2, 3, 4]));
    expect(Array.from(new Float32Array(await readBuffer(nq.device, buf)))).toEqual([1, 2, 3, 4]);
    buf.destroy();
  });
});

describe('getGpuJs errors', () => {
  it('rejects an unknown mode with NqInputError naming the modes', () => {
    expect(() => getGpuJs('webgl9' as GpuJsMode)).toThrow(NqInputError);
    expect(() => getGpuJs('webgl9' as GpuJsMode)).toThrow(/webgpu, webasm, headlessgl, cpu/);
  });
  it.skipIf(headless)('explains what headlessgl needs when it cannot run', async () => {
    await expect(getGpuJs('headlessgl')).rejects.toThrow(NqBackendError);
    await expect(getGpuJs('headlessgl')).rejects.toThrow(/xvfb-run/);
  });
});
