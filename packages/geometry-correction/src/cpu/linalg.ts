// Small dense float64 linear algebra for the study: Gram matrices, Cholesky, triangular solves.
// Row-major Float64Arrays throughout; sizes here are at most a few hundred, so plain loops suffice.

import { NqInputError } from '@nq/core';

/**
 * Accumulates the raw (uncentered) moments of rows [r0, r1) of X [*, d] and E [*, m]:
 * xx += XᵀX (d×d, full symmetric), xe += XᵀE (d×m), sx += Σ x, se += Σ e. Centering is done later
 * from these sums, so that moments of disjoint row sets simply add.
 */
export function accumulateMoments(
  x: ArrayLike<number>,
  e: ArrayLike<number>,
  d: number,
  m: number,
  r0: number,
  r1: number,
  xx: Float64Array,
  xe: Float64Array,
  sx: Float64Array,
  se: Float64Array,
): void {
  const xr = new Float64Array(d);
  const er = new Float64Array(m);
  for (let r = r0; r < r1; r++) {
    for (let i = 0; i < d; i++) xr[i] = x[r * d + i]!;
    for (let j = 0; j < m; j++) er[j] = e[r * m + j]!;
    for (let i = 0; i < d; i++) {
      const xi = xr[i]!;
      sx[i]! += xi;
      if (xi === 0) continue;
      // Upper triangle only; mirrored in symmetrize().
      const rowXX = i * d;
      for (let k = i; k < d; k++) xx[rowXX + k]! += xi * xr[k]!;
      const rowXE = i * m;
      for (let j = 0; j < m; j++) xe[rowXE + j]! += xi * er[j]!;
    }
    for (let j = 0; j < m; j++) se[j]! += er[j];
  }
}

/** Copies the upper triangle of a square n×n matrix onto its lower triangle. */
export function symmetrize(a: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) for (let k = i + 1; k < n; k++) a[k * n + i] = a[i * n + k]!;
}

/** In-place Cholesky factorisation A = L·Lᵀ of a symmetric positive-definite n×n matrix (L in the lower triangle). */
export function cholesky(a: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) {
    let s = a[j * n + j]!;
    for (let k = 0; k < j; k++) s -= a[j * n + k]! * a[j * n + k]!;
    if (!(s > 0)) {
      throw new NqInputError(
        'matrix',
        `is not positive definite (pivot ${j} = ${s})`,
        'Use a larger ridge parameter (alpha) or more training rows.',
      );
    }
    const ljj = Math.sqrt(s);
    a[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let t = a[i * n + j]!;
      for (let k = 0; k < j; k++) t -= a[i * n + k]! * a[j * n + k]!;
      a[i * n + j] = t / ljj;
    }
  }
}

/** Solves (L·Lᵀ)·X = B in place for B [n, m] given the Cholesky factor from cholesky(). */
export function choleskySolve(l: Float64Array, n: number, b: Float64Array, m: number): void {
  // Forward: L·Z = B.
  for (let i = 0; i < n; i++) {
    const bi = i * m;
    for (let k = 0; k < i; k++) {
      const lik = l[i * n + k]!;
      if (lik === 0) continue;
      const bk = k * m;
      for (let j = 0; j < m; j++) b[bi + j]! -= lik * b[bk + j]!;
    }
    const inv = 1 / l[i * n + i]!;
    for (let j = 0; j < m; j++) b[bi + j]! *= inv;
  }
  // Backward: Lᵀ·X = Z.
  for (let i = n - 1; i >= 0; i--) {
    const bi = i * m;
    for (let k = i + 1; k < n; k++) {
      const lki = l[k * n + i]!;
      if (lki === 0) continue;
      const bk = k * m;
      for (let j = 0; j < m; j++) b[bi + j]! -= lki * b[bk + j]!;
    }
    const inv = 1 / l[i * n + i]!;
    for (let j = 0; j < m; j++) b[bi + j]! *= inv;
  }
}
