// gpu.js dequantization vs the CPU reference, in gpu.js's WebAssembly mode (runs everywhere) and its
// WebGPU mode (the same adapter as the raw WebGPU backend: llvmpipe here). Small inputs.
import { NqUnsupportedError, Rng } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { dequantizeGpuJs, GPUJS_DEQUANT_FORMATS } from '../src/gpujs/index.js';
import { dequantize, quantize } from '../src/index.js';
import { randomBlocks } from './reference.js';

function firstDifference(a: Float32Array, b: Float32Array): string {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `[${i}] ${a[i]} vs ${b[i]}`;
  return 'none';
}

for (const mode of ['webasm', 'webgpu'] as const) {
  describe(`gpu.js (${mode}) dequantization equals the CPU bit for bit`, () => {
    for (const type of GPUJS_DEQUANT_FORMATS) {
      it(`${type}: random blocks and quantized Gaussian weights`, async () => {
        const w = type === 'Q8_0' ? 32 : 256;
        const bytes = randomBlocks(type, 16, 7 + w);
        expect(
          firstDifference(await dequantizeGpuJs(type, bytes, 16 * w, mode), dequantize(type, bytes, 16 * w)),
        ).toBe('none');
        const rng = new Rng(w);
        const x = Float32Array.from({ length: 1024 }, () => rng.normal() * 0.02);
        const q = quantize(type, x);
        expect(
          firstDifference(await dequantizeGpuJs(type, q, x.length, mode), dequantize(type, q, x.length)),
        ).toBe('none');
      });
    }
  });
}

describe('gpu.js unsupported formats', () => {
  it('Q5_K has no gpu.js kernel: typed error', async () => {
    await expect(dequantizeGpuJs('Q5_K', new Uint8Array(176), 256)).rejects.toThrow(NqUnsupportedError);
  });
});
