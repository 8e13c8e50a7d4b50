import { type Matrix, matrix, NqInputError, Rng } from '@nq/core';
import {
  createStorageBuffer,
  downloadMatrix,
  getWebGPUDevice,
  readBuffer,
  uploadMatrix,
} from '@nq/core/webgpu';
import { describe, expect, it } from 'vitest';
import { denseRotation, gemmABt } from '../src/cpu/gemm.js';
import { gemmError } from '../src/gemm-error.js';
import {
  beginWork,
  gemmErrorFromPartials,
  gemmErrorGpu,
  gemmErrorPartialsLength,
  gemmErrorWebGPU,
  matmulGpu,
  recordGemmError,
  submitWork,
  toGpuQuantizer,
} from '../src/webgpu/index.js';
import { llmLike } from './conformance-util.js';

// A random orthogonal R from QR (Gram–Schmidt) of a seeded Gaussian matrix: independent of @nq/hadamard.
function randomOrthogonal(n: number, seed: number): Matrix {
  const rng = new Rng(seed);
  const q = Array.from({ length: n }, () => Float64Array.from({ length: n }, () => rng.normal()));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      let d = 0;
      for (let t = 0; t < n; t++) d += q[i]![t]! * q[j]![t]!;
      for (let t = 0; t < n; t++) q[i]![t]! -= d * q[j]![t]!;
    }
    let nn = 0;
    for (let t = 0; t < n; t++) nn += q[i]![t]! ** 2;
    for (let t = 0; t < n; t++) q[i]![t]! /= Math.sqrt(nn);
  }
  return matrix(n, n, Float32Array.from(q.flatMap((r) => Array.from(r))));
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('webgpu GEMM kernels', () => {
  it('matmulGpu (A·B and A·Bᵀ, ragged tiles) equals the CPU product', async () => {
    const { device } = await getWebGPUDevice();
    const a = llmLike(70, 40, 1);
    const b = llmLike(90, 40, 2);
    const bt = llmLike(40, 90, 3);
    const work = beginWork(device);
    const ga = uploadMatrix(device, a);
    const gb = uploadMatrix(device, b);
    const gbt = uploadMatrix(device, bt);
    const c1 = matmulGpu(work, ga, gb, true);
    const c2 = matmulGpu(work, ga, gbt, false);
    submitWork(work);
    const r1 = await downloadMatrix(device, c1);
    const r2 = await downloadMatrix(device, c2);
    for (const g of [ga, gb, gbt, c1, c2]) g.buffer.destroy();
    const e1 = gemmABt(a, b);
    const btT = matrix(
      90,
      40,
      Float32Array.from({ length: 3600 }, (_, i) => bt.data[(i % 40) * 90 + Math.floor(i / 40)]!),
    );
    const e2 = gemmABt(a, btT);
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < e1.data.length; i++) {
      worst = Math.max(worst, Math.abs(r1.data[i]! - e1.data[i]!), Math.abs(r2.data[i]! - e2.data[i]!));
      scale = Math.max(scale, Math.abs(e1.data[i]!));
    }
    expect(worst / scale).toBeLessThan(1e-5);
  });
});

describe('fused rotate → quantize → GEMM-error on WebGPU', () => {
  const x = llmLike(96, 128, 11);
  const w = llmLike(80, 128, 12);
  const R = randomOrthogonal(128, 5);
  const a4 = { format: 'int', bits: 4, granularity: 'token' } as const;
  const w4 = { format: 'int', bits: 4, granularity: 'group', groupSize: 32 } as const;

  for (const rotated of [false, true]) {
    it(`matches the CPU gemmError (${rotated ? 'dense random orthogonal R' : 'no rotation'})`, async () => {
      const gpu = await gemmErrorWebGPU(x, w, { rotate: rotated ? R : null, activation: a4, weight: w4 });
      const cpu = gemmError(x, w, { rotate: rotated ? denseRotation(R) : null, activation: a4, weight: w4 });
      expect(gpu.shape).toEqual(cpu.shape);
      // fake-quant may differ by one step on a handful of near-tie elements (float32 vs float64); the
      // sums then move by well under 1%.
      expect(rel(gpu.gemm.mse, cpu.gemm.mse)).toBeLessThan(0.01);
      expect(Math.abs(gpu.gemm.snrDb - cpu.gemm.snrDb)).toBeLessThan(0.05);
      expect(rel(gpu.activation.mse, cpu.activation.mse)).toBeLessThan(0.01);
      expect(rel(gpu.weight.mse, cpu.weight.mse)).toBeLessThan(0.01);
      expect(rel(gpu.gemm.signal, cpu.gemm.signal)).toBeLessThan(1e-4);
      expect(rel(gpu.gemm.maxAbs, cpu.gemm.maxAbs)).toBeLessThan(0.05);
    });
  }

  it('without quantizers the fused kernel reports (near) zero error', async () => {
    const gpu = await gemmErrorWebGPU(x, w, { rotate: R });
    expect(gpu.activation.mse).toBe(0);
    expect(gpu.gemm.snrDb).toBeGreaterThan(90); // rotation round-off only
  });
});

describe('recordGemmError (record only: many GEMM errors in one command buffer)', () => {
  const x = llmLike(70, 64, 21); // ragged tiles in both GEMM dimensions
  const w = llmLike(90, 64, 22);
  const a4 = toGpuQuantizer({ format: 'int', bits: 4, granularity: 'token' }, 'activation');
  const w4 = toGpuQuantizer({ format: 'int', bits: 4, granularity: 'group', groupSize: 32 }, 'weight');

  it('records into slots of one results buffer; each slot equals its own gemmErrorGpu exactly', async () => {
    const { device } = await getWebGPUDevice();
    const gx = uploadMatrix(device, x);
    const gw = uploadMatrix(device, w);
    const rs = [randomOrthogonal(64, 1), randomOrthogonal(64, 2), null];
    const owned: GPUBuffer[] = [gx.buffer, gw.buffer];
    try {
      const single = [];
      for (const r of rs) single.push(await gemmErrorGpu(beginWork(device), gx, gw, r, a4, w4, owned));
      const words = gemmErrorPartialsLength(70, 90, 64);
      // One triple per 64×64 output tile (2×2), per 4096 activation and per 4096 weight elements.
      expect(words).toBe(3 * (4 + 2 + 2));
      const pad = 5; // a non-zero first offset, to check offsets are honoured
      const results = createStorageBuffer(device, (pad + rs.length * words) * 4);
      owned.push(results);
      const work = beginWork(device);
      const recs = rs.map((r, i) =>
        recordGemmError(work, gx, gw, r, a4, w4, owned, { buffer: results, offset: pad + i * words }),
      );
      submitWork(work);
      const all = new Float32Array(await readBuffer(device, results));
      for (const [i, rec] of recs.entries()) expect(gemmErrorFromPartials(all, rec)).toEqual(single[i]);
      expect(single[0]!.gemm.mse).not.toBe(single[1]!.gemm.mse); // different R, different numbers
      // A results buffer too small for the record is a typed error naming `out`.
      expect(() =>
        recordGemmError(beginWork(device), gx, gw, null, a4, w4, owned, {
          buffer: results,
          offset: pad + 3 * words - 1,
        }),
      ).toThrow(NqInputError);
      expect(() => gemmErrorFromPartials(all.subarray(0, 10), recs[0]!)).toThrow(/p/);
    } finally {
      for (const b of owned) b.destroy();
    }
  });
});
