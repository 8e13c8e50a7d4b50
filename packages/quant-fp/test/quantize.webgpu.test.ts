import { matrix, NqInputError } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { dequantize, fakeQuant, gemmError, quantize } from '../src/index.js';
import { fakeQuantWebGPU, gemmErrorWebGPU, quantizeWebGPU } from '../src/webgpu/index.js';
import { conform, llmLike } from './conformance.js';

describe('webgpu FP fake-quant conforms to the CPU reference', () => {
  const x = llmLike(16, 256, 5);
  const specs = [
    { format: 'fp8_e4m3', granularity: 'tensor' },
    { format: 'fp8_e4m3', granularity: 'token' },
    { format: 'fp8_e4m3', granularity: 'channel' },
    { format: 'fp8_e5m2', granularity: 'group', groupSize: 32 },
    { format: 'fp8_e4m3', granularity: 'token', clipSearch: { grid: 20, maxShrink: 0.5, norm: 2 } },
    { format: 'nvfp4' },
    { format: 'mxfp4' },
    { format: 'int', bits: 4, granularity: 'group', groupSize: 64, symmetric: false },
  ] as const;
  for (const spec of specs) {
    it(JSON.stringify(spec), async () => {
      const gpu = await fakeQuantWebGPU(x, spec);
      conform(gpu.data, fakeQuant(x, spec).data, x.data);
    });
  }

  it('grid points, midpoints (ties to even), subnormals and saturation on the GPU', async () => {
    // E4M3 per tensor with max 448 → s = 1: values map straight onto the grid
    const e4 = await fakeQuantWebGPU(
      matrix(1, 8, [448, 1.0625, 1.1875, 2 ** -10, 3 * 2 ** -10, -0.1, 300, -(2 ** -9)]),
      { format: 'fp8_e4m3' },
    );
    expect(Array.from(e4.data, (v) => v + 0)).toEqual([
      448,
      1,
      1.25,
      0,
      2 ** -8,
      -0.1015625,
      288,
      -(2 ** -9),
    ]);
    // MXFP4 block with amax 6 → scale 1: E2M1 midpoints
    const d = new Float32Array(32);
    d.set([6, 0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5, -5, -0.75]);
    const mx = await fakeQuantWebGPU(matrix(1, 32, d), { format: 'mxfp4' });
    expect(Array.from(mx.data.subarray(0, 10), (v) => v + 0)).toEqual([6, 0, 1, 1, 2, 2, 4, 4, -4, -1]);
  });

  it('fused GEMM error with FP formats matches the CPU', async () => {
    const xx = llmLike(70, 64, 8);
    const w = llmLike(40, 64, 9);
    for (const [a, wq] of [
      [{ format: 'nvfp4' }, { format: 'nvfp4' }],
      [{ format: 'mxfp4' }, { format: 'fp8_e4m3', granularity: 'token' }],
    ] as const) {
      const g = await gemmErrorWebGPU(xx, w, { activation: a, weight: wq });
      const c = gemmError(xx, w, { activation: a, weight: wq });
      expect(Math.abs(g.gemm.mse - c.gemm.mse) / c.gemm.mse).toBeLessThan(0.02);
      expect(Math.abs(g.activation.mse - c.activation.mse) / c.activation.mse).toBeLessThan(0.02);
      expect(Math.abs(g.weight.mse - c.weight.mse) / c.weight.mse).toBeLessThan(0.02);
    }
  });

  it('quantize to codes on the GPU: codes and block-scale codes match the CPU', async () => {
    for (const spec of [
      { format: 'fp8_e4m3', granularity: 'token' },
      { format: 'fp8_e5m2', granularity: 'channel' },
      { format: 'nvfp4' },
      { format: 'mxfp4' },
    ] as const) {
      const g = await quantizeWebGPU(x, spec);
      const c = quantize(x, spec);
      let off = 0;
      for (let i = 0; i < c.codes.length; i++) if (g.codes[i] !== c.codes[i]) off++;
      expect(off, JSON.stringify(spec)).toBeLessThanOrEqual(0.003 * c.codes.length);
      if (g.format !== 'int' && c.format !== 'int' && c.blockScaleCodes) {
        // MXFP4 all-zero blocks aside (none here), block-scale codes agree
        let boff = 0;
        for (let u = 0; u < c.blockScaleCodes.length; u++)
          if (g.blockScaleCodes![u] !== c.blockScaleCodes[u]) boff++;
        expect(boff).toBeLessThanOrEqual(Math.max(1, 0.01 * c.blockScaleCodes.length));
        expect(g.globalScale).toBe(c.globalScale);
      }
      conform(dequantize(g).data, dequantize(c).data, x.data);
    }
  });

  it('bad input: typed errors', async () => {
    await expect(fakeQuantWebGPU(llmLike(2, 24, 1), { format: 'nvfp4' })).rejects.toThrow(NqInputError);
    await expect(
      fakeQuantWebGPU(matrix(1, 32, new Float32Array(32).fill(Number.NaN)), { format: 'mxfp4' }),
    ).rejects.toThrow(NqInputError);
  });
});
