// Importance-matrix quantization (llama.cpp's quantize_row_*_impl). No imatrix-made llama.cpp file
// ships with nq, so the checks are properties: importance moves the error to unimportant columns,
// results scale exactly with the input, Q8_0 ignores the imatrix, and bad imatrices are refused.
import { NqInputError, Rng } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { dequantize, type KnownFormat, quantize } from '../src/index.js';

const COLS = 512;
const ROWS = 32;

function data(seed: number): { x: Float32Array; imatrix: Float32Array } {
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: ROWS * COLS }, () => rng.normal() * 0.02);
  // One column in eight matters 100×, as an outlier channel of the activations would make it.
  const imatrix = Float32Array.from({ length: COLS }, (_, c) => (c % 8 === 3 ? 100 : 1));
  return { x, imatrix };
}

/** Σ imatrix[col] · (x − y)². */
function weightedError(x: Float32Array, y: Float32Array, imatrix: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += imatrix[i % imatrix.length]! * (x[i]! - y[i]!) ** 2;
  return s;
}

describe('importance-matrix quantization', () => {
  const { x, imatrix } = data(21);
  for (const t of ['Q4_K', 'Q5_K', 'Q6_K', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1'] as KnownFormat[]) {
    it(`${t}: lower importance-weighted error than the unweighted reference quantizer`, () => {
      const ref = dequantize(t, quantize(t, x), x.length);
      const imq = dequantize(t, quantize(t, x, { imatrix }), x.length);
      const eRef = weightedError(x, ref, imatrix);
      const eIm = weightedError(x, imq, imatrix);
      expect(eIm).toBeLessThan(eRef);
    });

    it(`${t}: scaling the input by 2 scales the output by exactly 2`, () => {
      // σ = 1 keeps every f16 scale normal (at σ = 0.02 Q6_K's d is an f16 subnormal, where
      // doubling is not exact).
      const x1 = x.map((v) => v * 50);
      const y = dequantize(t, quantize(t, x1, { imatrix }), x.length);
      const y2 = dequantize(
        t,
        quantize(
          t,
          x1.map((v) => 2 * v),
          { imatrix },
        ),
        x.length,
      );
      let bad = 0;
      for (let i = 0; i < y.length; i++) if (y2[i] !== 2 * y[i]!) bad++;
      expect(bad).toBe(0);
    });
  }

  it('Q8_0 ignores the imatrix (as llama.cpp does)', () => {
    expect(quantize('Q8_0', x, { imatrix })).toEqual(quantize('Q8_0', x));
  });

  it('bad imatrices are typed errors', () => {
    expect(() => quantize('Q4_K', x, { imatrix: new Float32Array(100) })).toThrow(NqInputError);
    const neg = imatrix.slice();
    neg[5] = -1;
    expect(() => quantize('Q4_K', x, { imatrix: neg })).toThrow(/element 5/);
    const nan = imatrix.slice();
    nan[7] = Number.NaN;
    expect(() => quantize('Q6_K', x, { imatrix: nan })).toThrow(NqInputError);
  });
});
