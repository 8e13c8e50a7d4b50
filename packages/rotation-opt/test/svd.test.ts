import { NqInputError, Rng } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { matmul64, orthogonalityError, transpose64 } from '../src/cpu/dense64.js';
import { svd } from '../src/cpu/svd.js';

function gaussian(m: number, n: number, seed: number): Float64Array {
  const r = new Rng(seed);
  return Float64Array.from({ length: m * n }, () => r.normal());
}

/** Q [n, n] orthogonal from Gram–Schmidt of a Gaussian matrix (independent of the SVD). */
function gramSchmidt(n: number, seed: number): Float64Array {
  const a = gaussian(n, n, seed);
  for (let j = 0; j < n; j++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        let d = 0;
        for (let i = 0; i < n; i++) d += a[i * n + j]! * a[i * n + k]!;
        for (let i = 0; i < n; i++) a[i * n + j]! -= d * a[i * n + k]!;
      }
    }
    let s = 0;
    for (let i = 0; i < n; i++) s += a[i * n + j]! ** 2;
    for (let i = 0; i < n; i++) a[i * n + j]! /= Math.sqrt(s);
  }
  return a;
}

function reconstruct(
  u: Float64Array,
  s: Float64Array,
  v: Float64Array,
  m: number,
  n: number,
  k: number,
): Float64Array {
  const us = new Float64Array(m * k);
  for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) us[i * k + j] = u[i * k + j]! * s[j]!;
  return matmul64(us, transpose64(v, n, k), m, k, n);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i]! - b[i]!));
  return w;
}

describe('one-sided Jacobi SVD', () => {
  for (const [m, n] of [
    [40, 40],
    [64, 24],
    [17, 50],
    [1, 5],
    [6, 1],
  ] as const) {
    it(`reconstructs a random ${m} × ${n} matrix with orthonormal U, V and sorted S`, () => {
      const a = gaussian(m, n, m * 1000 + n);
      const r = svd(a, m, n);
      const k = Math.min(m, n);
      expect(r.k).toBe(k);
      expect(maxAbsDiff(reconstruct(r.u, r.s, r.v, m, n, k), a)).toBeLessThan(1e-12);
      expect(orthogonalityError(r.u, m, k)).toBeLessThan(1e-12);
      expect(orthogonalityError(r.v, n, k)).toBeLessThan(1e-12);
      for (let i = 1; i < k; i++) expect(r.s[i]!).toBeLessThanOrEqual(r.s[i - 1]!);
      // Σ s² = ‖A‖²_F (definition-level check independent of U and V).
      const fro = a.reduce((p, x) => p + x * x, 0);
      expect(r.s.reduce((p, x) => p + x * x, 0)).toBeCloseTo(fro, 9);
    });
  }

  it('recovers prescribed singular values of an ill-conditioned matrix (cond 1e12) to high relative accuracy', () => {
    const n = 30;
    const q1 = gramSchmidt(n, 1);
    const q2 = gramSchmidt(n, 2);
    const sigma = Float64Array.from({ length: n }, (_, i) => 10 ** (-12 * (i / (n - 1))));
    const a = reconstruct(q1, sigma, q2, n, n, n); // Q1·diag(σ)·Q2ᵀ
    const r = svd(a, n, n);
    // Large singular values to 1e-12 relative; the tiny ones are limited by the rounding of A itself
    // (‖δA‖ ≈ 1e-16·‖A‖), so check them absolutely against that.
    for (let i = 0; i < n; i++) expect(Math.abs(r.s[i]! - sigma[i]!)).toBeLessThan(1e-12 * sigma[i]! + 1e-14);
    expect(maxAbsDiff(reconstruct(r.u, r.s, r.v, n, n, n), a)).toBeLessThan(1e-13);
    expect(orthogonalityError(r.u, n, n)).toBeLessThan(1e-11);
    expect(orthogonalityError(r.v, n, n)).toBeLessThan(1e-12);
  });

  it('completes U to an orthonormal basis for rank-deficient input (rank 3 of 12)', () => {
    const m = 12;
    const b = gaussian(m, 3, 5);
    const c = gaussian(3, m, 6);
    const a = matmul64(b, c, m, 3, m);
    const r = svd(a, m, m);
    expect(orthogonalityError(r.u, m, m)).toBeLessThan(1e-10);
    expect(orthogonalityError(r.v, m, m)).toBeLessThan(1e-12);
    for (let i = 3; i < m; i++) expect(r.s[i]!).toBeLessThan(1e-12 * r.s[0]!);
    expect(maxAbsDiff(reconstruct(r.u, r.s, r.v, m, m, m), a)).toBeLessThan(1e-12);
  });

  // Regression: a cross product of 32 tokens in 64 dimensions (AdaCodec's Procrustes decoder on a
  // small calibration set); half of U must be completed, and a fixed-threshold completion ran out of
  // candidate unit vectors, leaving zero columns (orthogonality error 1).
  it('completes U when half of the singular values are zero (rank 32 of 64)', () => {
    const m = 64;
    const a = matmul64(gaussian(m, 32, 7), gaussian(32, m, 8), m, 32, m);
    const r = svd(a, m, m);
    expect(orthogonalityError(r.u, m, m)).toBeLessThan(1e-10);
    expect(maxAbsDiff(reconstruct(r.u, r.s, r.v, m, m, m), a)).toBeLessThan(1e-10);
  });

  it('handles the zero matrix and a diagonal matrix with known answer', () => {
    const z = svd(new Float64Array(9), 3, 3);
    expect([...z.s]).toEqual([0, 0, 0]);
    expect(orthogonalityError(z.u, 3, 3)).toBeLessThan(1e-15);
    const d = svd([0, 0, 0, 0, -5, 0, 0, 0, 2], 3, 3);
    expect([...d.s]).toEqual([5, 2, 0]);
  });

  it('rejects bad input with typed errors naming the argument', () => {
    expect(() => svd([1, 2, 3], 2, 2)).toThrow(NqInputError);
    expect(() => svd([1, Number.NaN, 3, 4], 2, 2)).toThrow(/svd\(a\).*row 0, col 1/);
    expect(() => svd([], 0, 2)).toThrow(/svd\(m, n\)/);
  });
});
