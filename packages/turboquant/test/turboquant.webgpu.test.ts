import { type Matrix, Rng } from '@nq/core';
import { describe, expect, it } from 'vitest';
import {
  groupSigns,
  rotateNormalized,
  sphereCoordinateCodebook,
  turboquantDequantize,
  turboquantQuantize,
} from '../src/index.js';
import { turboquantFakeQuantWebGPU } from '../src/webgpu/index.js';

function weights(rows: number, cols: number, seed: number): Matrix {
  const m = { rows, cols, data: new Rng(seed).normals(rows * cols) };
  for (let r = 0; r < rows; r++) m.data[r * cols + 3]! *= 8;
  return m;
}

/*
 * Conformance with the CPU reference on small inputs (llvmpipe on CI).
 * - codes: exact, except where the CPU's rotated coordinate lies within 1e-6 (≈ 30 ulp at the
 *   coordinate scale 1/√g) of a centroid boundary: the GPU's f32 FWHT sums in another order than the
 *   CPU's (float64 registers, f32 stores), so such a coordinate may legitimately round the other way;
 * - Ŵ: decoding the GPU's own codes and scales with the CPU decoder must give the GPU's Ŵ within a
 *   FWHT reduction budget: rel 1e-5 of the group norm (K = g ≤ 256 terms of f32);
 * - scales: rel 1e-5 (sums of g products).
 */
describe('turboquant webgpu conformance', () => {
  it.each([
    [8, 128, 128, 4, 'norm'],
    [5, 256, 64, 3, 'mse'],
    [3, 256, 256, 2, 'none'],
  ] as const)('%i×%i g%i b%i correction %s', async (rows, cols, groupSize, bits, correction) => {
    const w = weights(rows, cols, rows * 100 + cols);
    const spec = { bits, groupSize, seed: 3, correction };
    const cpu = turboquantQuantize(w, spec, 'T');
    const gpu = await turboquantFakeQuantWebGPU(w, spec, 'T');

    const { y } = rotateNormalized(w, groupSize, groupSigns(3, 'T', groupSize));
    const book = sphereCoordinateCodebook(groupSize, bits);
    let mismatches = 0;
    for (let i = 0; i < cpu.codes.length; i++) {
      if (cpu.codes[i] === gpu.codes[i]) continue;
      let near = Infinity;
      for (let k = 0; k + 1 < book.length; k++)
        near = Math.min(near, Math.abs(y[i]! - (book[k]! + book[k + 1]!) / 2));
      expect(near).toBeLessThan(1e-6);
      mismatches++;
    }
    expect(mismatches).toBeLessThanOrEqual(2);

    const own = turboquantDequantize({ ...cpu, codes: Uint8Array.from(gpu.codes), scales: gpu.scales });
    let maxErr = 0;
    let maxAbs = 0;
    for (let i = 0; i < own.data.length; i++) {
      maxErr = Math.max(maxErr, Math.abs(own.data[i]! - gpu.weight.data[i]!));
      maxAbs = Math.max(maxAbs, Math.abs(own.data[i]!));
    }
    expect(maxErr / maxAbs).toBeLessThan(1e-5);
    if (mismatches === 0) {
      // same codes: the GPU's Ŵ is the CPU's Ŵ up to the FWHT/scale reduction budget
      const ref = turboquantDequantize(cpu);
      for (let i = 0; i < ref.data.length; i++)
        expect(Math.abs(ref.data[i]! - gpu.weight.data[i]!)).toBeLessThan(1e-5 * maxAbs);
      for (let u = 0; u < cpu.scales.length; u++)
        expect(Math.abs(gpu.scales[u]! - cpu.scales[u]!) / Math.abs(cpu.scales[u]!)).toBeLessThan(1e-5);
    }
  });
});
