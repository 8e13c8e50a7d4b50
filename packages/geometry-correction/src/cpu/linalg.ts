// Small dense float64 linear algebra for the study: Gram matrices, Cholesky, triangular solves.
// Row-major Float64Arrays throughout; sizes here are at most a few hundred, so plain loops suffice.

import { NqInputError } from '@nq/core';

/** Rows per block in the moment passes: each pass over XᵀX then streams the d×d matrix once per 8 rows. */
const BLOCK = 8;

/**
 * xx += Σ_b xb_bᵀ·xb_b (upper triangle only, i ≤ k) and, when eb is given, xe += Σ_b xb_bᵀ·eb_b, for a
 * block of BLOCK rows xb [BLOCK, d], eb [BLOCK, m] (unused rows zero). Eight rows per sweep keep the
 * d×d accumulator's memory traffic 8× lower than row-by-row rank-1 updates.
 */
export function accumulateBlock(
  xb: Float64Array,
  eb: Float64Array | null,
  d: number,
  m: number,
  xx: Float64Array,
  xe: Float64Array | null,
): void {
  const x0 = xb.subarray(0, d);
  const x1 = xb.subarray(d, 2 * d);
  const x2 = xb.subarray(2 * d, 3 * d);
  const x3 = xb.subarray(3 * d, 4 * d);
  const x4 = xb.subarray(4 * d, 5 * d);
  const x5 = xb.subarray(5 * d, 6 * d);
  const x6 = xb.subarray(6 * d, 7 * d);
  const x7 = xb.subarray(7 * d, 8 * d);
  for (let i = 0; i < d; i++) {
    const a0 = x0[i]!;
    const a1 = x1[i]!;
    const a2 = x2[i]!;
    const a3 = x3[i]!;
    const a4 = x4[i]!;
    const a5 = x5[i]!;
    const a6 = x6[i]!;
    const a7 = x7[i]!;
    const row = i * d;
    for (let k = i; k < d; k++) {
      xx[row + k]! +=
        a0 * x0[k]! +
        a1 * x1[k]! +
        a2 * x2[k]! +
        a3 * x3[k]! +
        a4 * x4[k]! +
        a5 * x5[k]! +
        a6 * x6[k]! +
        a7 * x7[k]!;
    }
    if (!eb || !xe) continue;
    const e0 = eb.subarray(0, m);
    const e1 = eb.subarray(m, 2 * m);
    const e2 = eb.subarray(2 * m, 3 * m);
    const e3 = eb.subarray(3 * m, 4 * m);
    const e4 = eb.subarray(4 * m, 5 * m);
    const e5 = eb.subarray(5 * m, 6 * m);
    const e6 = eb.subarray(6 * m, 7 * m);
    const e7 = eb.subarray(7 * m, 8 * m);
    const rowE = i * m;
    for (let j = 0; j < m; j++) {
      xe[rowE + j]! +=
        a0 * e0[j]! +
        a1 * e1[j]! +
        a2 * e2[j]! +
        a3 * e3[j]! +
        a4 * e4[j]! +
        a5 * e5[j]! +
        a6 * e6[j]! +
        a7 * e7[j]!;
    }
  }
}

/**
 * Accumulates the raw (uncentered) moments of rows [r0, r1) of X [*, d] and E [*, m]:
 * xx += XᵀX (d×d, upper triangle; see symmetrize), xe += XᵀE (d×m), sx += Σ x, se += Σ e. Centering
 * is done later from these sums, so that moments of disjoint row sets simply add.
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
  const xb = new Float64Array(BLOCK * d);
  const eb = new Float64Array(BLOCK * m);
  for (let r = r0; r < r1; r += BLOCK) {
    const rows = Math.min(BLOCK, r1 - r);
    xb.fill(0);
    eb.fill(0);
    for (let b = 0; b < rows; b++) {
      for (let i = 0; i < d; i++) {
        const v = x[(r + b) * d + i]!;
        xb[b * d + i] = v;
        sx[i]! += v;
      }
      for (let j = 0; j < m; j++) {
        const v = e[(r + b) * m + j]!;
        eb[b * m + j] = v;
        se[j]! += v;
      }
    }
    accumulateBlock(xb, eb, d, m, xx, xe);
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
