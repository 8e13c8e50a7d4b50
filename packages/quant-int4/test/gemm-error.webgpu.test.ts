import { type Matrix, matrix, Rng } from '@nq/core';
import { downloadMatrix, getWebGPUDevice, uploadMatrix } from '@nq/core/webgpu';
import { describe, expect, it } from 'vitest';
import { denseRotation, gemmABt } from '../src/cpu/gemm.js';
import { gemmError } from '../src/gemm-error.js';
import { beginWork, gemmErrorWebGPU, matmulGpu, submitWork } from '../src/webgpu/index.js';
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
