import { NqUnsupportedError } from '@nq/core';
import { emptyGpuMatrix, type GpuMatrix, uploadMatrix } from '@nq/core/webgpu';
import { blockHadamard, cascade, compileRotation, identity, randomHadamard } from '@nq/hadamard';
import { encodeRotation, prepareRotationWebGPU } from '@nq/hadamard/webgpu';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { CpuErrorEvaluator } from '../src/cpu/index.js';
import { discover, fromRotationSpec, LatencyCache } from '../src/index.js';
import { W4A4_CHUNK_BYTES, WebGPUErrorEvaluator, w4a4CandidateBytes } from '../src/webgpu/index.js';
import { outlierActivations } from './helpers.js';

// Conformance: the batched WebGPU evaluator against the CPU reference on the same candidates.
// Tolerance: 1e-4 relative per candidate (measured on llvmpipe: ≤ 3e-7). The GPU divides by the scale in
// float32 and accumulates per-row sums in float32 (the CPU: float64), and its FWHT rounds differently,
// so a value within an ulp of a rounding boundary may land on the other side.
const evaluators: WebGPUErrorEvaluator[] = [];
afterAll(() => {
  for (const e of evaluators) e.destroy();
});

describe('WebGPUErrorEvaluator (batched, one submit per batch or chunk) vs CpuErrorEvaluator', () => {
  for (const [dim, target] of [
    [256, 'int4'],
    [256, 'int8'],
    [768, 'int4'],
  ] as const) {
    it(`${target}, dim ${dim}: every candidate within 1e-4 of the CPU, same ranking of clearly different candidates`, async () => {
      const x = outlierActivations(48, dim, dim + 1, 4, 20);
      const specs = [
        identity(dim),
        randomHadamard(dim, 1),
        blockHadamard(dim, 16, 2),
        blockHadamard(dim, dim === 768 ? 12 : 64, 3),
        cascade(blockHadamard(dim, 8, 4), blockHadamard(dim, dim === 768 ? 384 : 128, 5)),
        cascade(blockHadamard(dim, 2, 6), blockHadamard(dim, 32, 7), blockHadamard(dim, 4, 8)),
      ];
      const cpu = new CpuErrorEvaluator(x, null, target).errors(specs);
      const gpu = await WebGPUErrorEvaluator.create(x, target);
      evaluators.push(gpu);
      const g = await gpu.errors(specs);
      for (let i = 0; i < specs.length; i++) expect(Math.abs(g[i]! / cpu[i]! - 1)).toBeLessThan(1e-4);
      // Identity is far worse than the full random Hadamard on outlier data, on both backends.
      expect(g[0]! > 2 * g[1]!).toBe(cpu[0]! > 2 * cpu[1]!);
      expect(gpu.evaluations).toBe(specs.length);
      // A second batch reuses the GPU buffers and gives the same numbers.
      const again = await gpu.errors(specs.slice(0, 3));
      expect(Array.from(again)).toEqual(Array.from(g.subarray(0, 3)));
    });
  }

  it('w4a4 (all candidates in one command buffer, @nq/quant-int4 recordGemmError): within 1e-3 of the CPU', async () => {
    const x = outlierActivations(40, 64, 3, 3, 20);
    const w = { rows: 36, cols: 64, data: outlierActivations(36, 64, 4, 0).data };
    const specs = [
      identity(64),
      randomHadamard(64, 1),
      blockHadamard(64, 8, 2),
      cascade(blockHadamard(64, 4, 3), blockHadamard(64, 32, 4)),
    ];
    const cpu = new CpuErrorEvaluator(x, w, 'w4a4').errors(specs);
    const gpu = await WebGPUErrorEvaluator.create(x, 'w4a4', w);
    evaluators.push(gpu);
    const g = await gpu.errors(specs);
    for (let i = 0; i < specs.length; i++) expect(Math.abs(g[i]! / cpu[i]! - 1)).toBeLessThan(1e-3);
    expect(gpu.evaluations).toBe(specs.length);
    await expect(WebGPUErrorEvaluator.create(x, 'w4a4')).rejects.toThrow(/w/);
    await expect(WebGPUErrorEvaluator.create(outlierActivations(4, 6, 1), 'int4')).rejects.toThrow(
      NqUnsupportedError,
    );
  });

  it('w4a4 batched equals the per-candidate gemmErrorGpu path exactly, in one submit per chunk', async () => {
    const x = outlierActivations(70, 64, 11, 3, 20); // 70 tokens: a ragged second GEMM tile row
    const w = { rows: 40, cols: 64, data: outlierActivations(40, 64, 12, 0).data };
    const specs = [
      identity(64),
      randomHadamard(64, 1),
      blockHadamard(64, 8, 2),
      cascade(blockHadamard(64, 4, 3), blockHadamard(64, 32, 4)),
      blockHadamard(64, 16, 5),
    ].map((s) => compileRotation(s));
    const gpu = await WebGPUErrorEvaluator.create(x, 'w4a4', w);
    evaluators.push(gpu);
    const { device } = gpu;

    // The old path: one gemmErrorGpu (own encoder, submit, read-back) per candidate, same quantizer.
    const { beginWork, gemmErrorGpu, toGpuQuantizer } = await import('@nq/quant-int4/webgpu');
    const q4 = toGpuQuantizer({ format: 'int', bits: 4, granularity: 'token', symmetric: true }, 'q')!;
    const gx = uploadMatrix(device, x);
    const gw = uploadMatrix(device, w);
    const single: number[] = [];
    for (const c of specs) {
      const p = await prepareRotationWebGPU(c);
      const owned: GPUBuffer[] = [];
      try {
        const rot = (work: { encoder: GPUCommandEncoder }, m: GpuMatrix) => {
          const o = emptyGpuMatrix(device, m.rows, m.cols);
          encodeRotation(p, m, o, {}, work.encoder);
          return o;
        };
        const r = (await gemmErrorGpu(beginWork(device), gx, gw, rot, q4, q4, owned)).gemm;
        single.push(r.sse / r.signal);
      } finally {
        for (const b of owned) b.destroy();
        p.destroy();
      }
    }
    gx.buffer.destroy();
    gw.buffer.destroy();

    // Count queue submits: a chunk is its recorded work plus readBuffer's copy (2); the old path 2 per candidate.
    const submit = device.queue.submit.bind(device.queue);
    let submits = 0;
    const spy = vi.spyOn(device.queue, 'submit').mockImplementation((b) => {
      submits++;
      submit(b);
    });
    try {
      const batched = await gpu.errors(specs);
      expect(Array.from(batched)).toEqual(single);
      expect(submits).toBe(2);

      // Chunking by bytes: room for 2 candidates → chunks of 2, 2, 1 → 3 submits of work; same numbers.
      submits = 0;
      gpu.w4a4ChunkBytes = 2 * w4a4CandidateBytes(x.rows, w.rows, 64) + 1;
      expect(Array.from(await gpu.errors(specs))).toEqual(single);
      expect(submits).toBe(6);
      // A cap below one candidate still evaluates one at a time.
      gpu.w4a4ChunkBytes = 1;
      expect(Array.from(await gpu.errors(specs.slice(1, 3)))).toEqual(single.slice(1, 3));
    } finally {
      spy.mockRestore();
      gpu.w4a4ChunkBytes = W4A4_CHUNK_BYTES;
    }
  });

  it("discover({ backend: 'webgpu' }) runs the search on the GPU; its best error matches the CPU reference", async () => {
    const x = outlierActivations(32, 64, 9, 3, 25);
    const r = await discover({
      data: { name: 'synthetic', x },
      target: 'int4',
      seed: 5,
      population: 6,
      generations: 3,
      backend: 'webgpu',
    });
    expect(r.history.length).toBe(4);
    const bestRow = r.comparison.at(-1)!; // computed on the CPU
    expect(Math.abs(r.bestError / bestRow.error - 1)).toBeLessThan(1e-4);
    expect(r.bestError).toBeLessThan(r.comparison[0]!.error);
  });

  it('latency on the webgpu backend is measured once per structure', async () => {
    const cache = new LatencyCache({ mode: 'measure', backend: 'webgpu', rows: 16, timeMs: 5 }, 64);
    const a = await cache.latencyMs(fromRotationSpec(blockHadamard(64, 16, 1)));
    const b = await cache.latencyMs(fromRotationSpec(blockHadamard(64, 16, 2)));
    expect(a).toBeGreaterThan(0);
    expect(b).toBe(a);
    expect(cache.measurements).toBe(1);
  });
});
