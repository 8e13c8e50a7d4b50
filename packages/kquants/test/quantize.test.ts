import { NqInputError, Rng } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { roundAway } from '../src/cpu/index.js';
import { dequantize, fromHalf, type KnownFormat, quantize, toHalf } from '../src/index.js';

const TYPES: KnownFormat[] = ['Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q4_K', 'Q5_K', 'Q6_K'];

function gaussian(n: number, seed: number, sigma = 1): Float32Array {
  const rng = new Rng(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.normal() * sigma;
  return x;
}

function rms(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s / a.length);
}

describe('Q8_0 follows its definition', () => {
  it('d = amax/127 stored as f16, q = roundf(x · (1/d)) with the float32 d', () => {
    const x = gaussian(32 * 64, 5, 0.03);
    const bytes = quantize('Q8_0', x);
    for (let b = 0; b < 64; b++) {
      const blk = x.subarray(32 * b, 32 * b + 32);
      const amax = blk.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const d = Math.fround(amax / 127);
      expect(bytes[34 * b]! | (bytes[34 * b + 1]! << 8)).toBe(toHalf(d));
      const id = Math.fround(1 / d);
      for (let j = 0; j < 32; j++) {
        const q = (bytes[34 * b + 2 + j]! << 24) >> 24;
        expect(q).toBe(roundAway(Math.fround(blk[j]! * id)) + 0);
      }
    }
  });

  it('error ≤ half a step of the stored scale (+ the f16 rounding of the scale)', () => {
    const x = gaussian(32 * 256, 6, 0.05);
    const y = dequantize('Q8_0', quantize('Q8_0', x), x.length);
    for (let b = 0; b < 256; b++) {
      const blk = x.subarray(32 * b, 32 * b + 32);
      const d = Math.fround(blk.reduce((m, v) => Math.max(m, Math.abs(v)), 0) / 127);
      const dh = fromHalf(toHalf(d));
      const bound = 0.5 * d * (1 + 1e-6) + 127 * Math.abs(d - dh);
      for (let j = 0; j < 32; j++) expect(Math.abs(y[32 * b + j]! - blk[j]!)).toBeLessThanOrEqual(bound);
    }
  });
});

describe('every format', () => {
  // Uniform quantizers over about ±3σ: step ≈ 6σ/(levels−1), RMS error ≈ step/√12 (llama.cpp's
  // searches do better than the plain min/max grid; the bounds allow the plain grid plus 15%).
  const bound: Record<string, number> = {
    Q8_0: (2 * 3.5) / 254 / Math.sqrt(12),
    Q4_0: (2 * 3.5) / 15 / Math.sqrt(12),
    Q4_1: (2 * 3.5) / 15 / Math.sqrt(12),
    Q5_0: (2 * 3.5) / 31 / Math.sqrt(12),
    Q5_1: (2 * 3.5) / 31 / Math.sqrt(12),
    Q4_K: (2 * 3.0) / 15 / Math.sqrt(12),
    Q5_K: (2 * 3.0) / 31 / Math.sqrt(12),
    Q6_K: (2 * 3.0) / 63 / Math.sqrt(12),
  };
  const x = gaussian(256 * 64, 9);
  for (const t of TYPES) {
    it(`${t}: RMS error on N(0,1) within a uniform grid's`, () => {
      const y = dequantize(t, quantize(t, x), x.length);
      expect(rms(x, y)).toBeLessThan(bound[t]! * 1.15);
    });

    it(`${t}: scaling the input by 2 scales the output by exactly 2`, () => {
      const x2 = x.map((v) => v * 2);
      const y = dequantize(t, quantize(t, x), x.length);
      const y2 = dequantize(t, quantize(t, x2), x.length);
      let bad = 0;
      for (let i = 0; i < y.length; i++) if (y2[i] !== 2 * y[i]!) bad++;
      expect(bad).toBe(0);
    });

    it(`${t}: zero blocks stay exactly zero`, () => {
      const z = new Float32Array(256);
      expect(Array.from(dequantize(t, quantize(t, z), 256)).every((v) => v === 0)).toBe(true);
    });
  }

  it('fused multiply-add searches (fma: true) produce valid, equally good blocks', () => {
    for (const t of ['Q4_K', 'Q5_K', 'Q6_K'] as const) {
      const y = dequantize(t, quantize(t, x, { fma: true }), x.length);
      expect(rms(x, y)).toBeLessThan(bound[t]! * 1.15);
    }
  });

  it('rejects NaN/Inf, partial blocks and unknown types with typed errors', () => {
    const bad = new Float32Array(256);
    bad[17] = Number.NaN;
    expect(() => quantize('Q4_K', bad)).toThrow(NqInputError);
    expect(() => quantize('Q4_K', bad)).toThrow(/element 17/);
    expect(() => quantize('Q4_K', new Float32Array(255))).toThrow(/whole number/);
    expect(() => quantize('Q2_K' as never, new Float32Array(256))).toThrow(/not supported/);
  });
});
