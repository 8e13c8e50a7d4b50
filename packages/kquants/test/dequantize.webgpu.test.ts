// WebGPU dequantization vs the CPU reference: bit-identical on random blocks of every format and on
// blocks produced by nq's quantizer from Gaussian weights (small inputs: the CI adapter is llvmpipe).
import { NqUnsupportedError, Rng } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { dequantize, type KnownFormat, quantize } from '../src/index.js';
import { dequantizeWebGPU, WEBGPU_DEQUANT_FORMATS } from '../src/webgpu/index.js';
import { BLOCK, randomBlocks } from './reference.js';

function firstDifference(a: Float32Array, b: Float32Array): string {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `[${i}] ${a[i]} vs ${b[i]}`;
  return 'none';
}

describe('webgpu dequantization equals the CPU bit for bit', () => {
  for (const type of Object.keys(BLOCK) as KnownFormat[]) {
    it(`${type}: random blocks (finite scales, every bit pattern of codes and scales)`, async () => {
      const [w] = BLOCK[type]!;
      const n = 48 * w;
      const bytes = randomBlocks(type, n / w, 101 + w);
      const gpu = await dequantizeWebGPU(type, bytes, n);
      expect(firstDifference(gpu, dequantize(type, bytes, n))).toBe('none');
    });
  }

  it('quantized Gaussian weights in Q8_0, Q4_K, Q6_K, and F16 / BF16 tensors', async () => {
    const rng = new Rng(8);
    const x = Float32Array.from({ length: 256 * 24 }, () => rng.normal() * 0.02);
    for (const type of ['Q8_0', 'Q4_K', 'Q6_K', 'F16', 'BF16'] as const) {
      const bytes = quantize(type, x);
      const gpu = await dequantizeWebGPU(type, bytes, x.length);
      expect(firstDifference(gpu, dequantize(type, bytes, x.length)), type).toBe('none');
    }
  });

  it('F32 has no kernel (nothing to decode): typed error', async () => {
    expect(WEBGPU_DEQUANT_FORMATS).toContain('Q4_K');
    await expect(dequantizeWebGPU('F32', new Uint8Array(16), 4)).rejects.toThrow(NqUnsupportedError);
  });
});
