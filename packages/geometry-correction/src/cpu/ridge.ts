// Q1's estimator: the ridge least-squares linear correction from quantized to float sub-layer outputs.
//
// Residual form: with X = Y_q [n, d] and E = Y_fp − Y_q [n, m], fit E ≈ X·B + 1·bᵀ by minimising
// ‖E − X·B − 1bᵀ‖² + λ‖B‖² (the intercept b is not penalised). The corrected output is
// Y_q·(I + B) + bᵀ, so the penalty shrinks the map A = I + B towards the identity ("no correction")
// rather than towards zero. Closed form, float64: centre X and E by their training means, then
// B = (X̃ᵀX̃ + λI)⁻¹·X̃ᵀẼ and b = μ_E − Bᵀμ_X. λ = α · tr(X̃ᵀX̃)/d, so α is scale free; α is chosen
// by K-fold cross-validation over whole windows.

import { NqInputError } from '@nq/core';
import { accumulateMoments, cholesky, choleskySolve, symmetrize } from './linalg.js';

/** Raw moments of a set of rows: enough to fit any ridge correction on exactly those rows. */
export interface Moments {
  d: number;
  m: number;
  n: number;
  /** XᵀX [d, d] (symmetric, full). */
  xx: Float64Array;
  /** XᵀE [d, m]. */
  xe: Float64Array;
  sx: Float64Array;
  se: Float64Array;
}

/** A fitted correction: ŷ = y + y·B + bias for a row y of the quantized output. */
export interface LinearCorrection {
  d: number;
  m: number;
  /** [d, m] row-major. */
  B: Float64Array;
  bias: Float64Array;
  alpha: number;
  lambda: number;
}

/** Half-open row ranges [start, end). */
export type RowRanges = ReadonlyArray<readonly [number, number]>;

export function emptyMoments(d: number, m: number): Moments {
  return {
    d,
    m,
    n: 0,
    xx: new Float64Array(d * d),
    xe: new Float64Array(d * m),
    sx: new Float64Array(d),
    se: new Float64Array(m),
  };
}

/** Moments of X = x [*, d] and E = e [*, m] over the given row ranges. */
export function momentsOf(
  x: ArrayLike<number>,
  e: ArrayLike<number>,
  d: number,
  m: number,
  rows: RowRanges,
): Moments {
  const mo = emptyMoments(d, m);
  for (const [r0, r1] of rows) {
    accumulateMoments(x, e, d, m, r0, r1, mo.xx, mo.xe, mo.sx, mo.se);
    mo.n += r1 - r0;
  }
  symmetrize(mo.xx, d);
  return mo;
}

/** Moments of the union of two disjoint row sets. */
export function addMoments(a: Moments, b: Moments): Moments {
  if (a.d !== b.d || a.m !== b.m)
    throw new NqInputError('b', 'has other dimensions than a', 'Add moments of the same unit.');
  const add = (p: Float64Array, q: Float64Array) => p.map((v, i) => v + q[i]!);
  return {
    d: a.d,
    m: a.m,
    n: a.n + b.n,
    xx: add(a.xx, b.xx),
    xe: add(a.xe, b.xe),
    sx: add(a.sx, b.sx),
    se: add(a.se, b.se),
  };
}

/** The closed-form ridge correction from moments; alpha ≥ 0 (0 = ordinary least squares). */
export function solveRidge(mo: Moments, alpha: number): LinearCorrection {
  const { d, m, n } = mo;
  if (!(alpha >= 0) || !Number.isFinite(alpha)) {
    throw new NqInputError('alpha', `must be a finite number ≥ 0, got ${alpha}`, 'Pass e.g. 1e-3.');
  }
  if (n < 2)
    throw new NqInputError(
      'rows',
      `hold ${n} rows`,
      'Fit on at least 2 rows (many more than d for a useful fit).',
    );
  const mx = mo.sx.map((v) => v / n);
  const me = mo.se.map((v) => v / n);
  // Centred Gram and cross moments.
  const g = new Float64Array(d * d);
  let trace = 0;
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) g[i * d + k] = mo.xx[i * d + k]! - n * mx[i]! * mx[k]!;
    trace += g[i * d + i]!;
  }
  const c = new Float64Array(d * m);
  for (let i = 0; i < d; i++)
    for (let j = 0; j < m; j++) c[i * m + j] = mo.xe[i * m + j]! - n * mx[i]! * me[j]!;
  const lambda = (alpha * trace) / d;
  for (let i = 0; i < d; i++) g[i * d + i]! += lambda;
  cholesky(g, d);
  choleskySolve(g, d, c, m);
  const bias = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    let s = me[j]!;
    for (let i = 0; i < d; i++) s -= c[i * m + j]! * mx[i]!;
    bias[j] = s;
  }
  return { d, m, B: c, bias, alpha, lambda };
}

/**
 * Residual sums over the given rows: sse = ‖E − (X·B + 1bᵀ)‖², base = ‖E‖² (no correction).
 * Pass correction null for base only.
 */
export function correctionSse(
  corr: LinearCorrection | null,
  x: ArrayLike<number>,
  e: ArrayLike<number>,
  d: number,
  m: number,
  rows: RowRanges,
): { sse: number; base: number } {
  let sse = 0;
  let base = 0;
  // Predictions for up to 8 rows at once, so each row of B is read once per 8 rows (the same
  // summation order per row as one row at a time).
  const R = 8;
  const pred = new Float64Array(R * m);
  for (const [r0, r1] of rows) {
    for (let r = r0; r < r1; r += R) {
      const nr = Math.min(R, r1 - r);
      if (corr) {
        for (let b = 0; b < nr; b++) pred.set(corr.bias, b * m);
        for (let i = 0; i < d; i++) {
          const row = i * m;
          for (let b = 0; b < nr; b++) {
            const xi = x[(r + b) * d + i]!;
            if (xi === 0) continue;
            const o = b * m;
            for (let j = 0; j < m; j++) pred[o + j]! += xi * corr.B[row + j]!;
          }
        }
      }
      for (let b = 0; b < nr; b++) {
        const o = b * m;
        for (let j = 0; j < m; j++) {
          const ej = e[(r + b) * m + j]!;
          base += ej * ej;
          const res = corr ? ej - pred[o + j]! : ej;
          sse += res * res;
        }
      }
    }
  }
  return { sse, base };
}

/** R = 1 − ‖E − Ê‖² / ‖E‖² on the given rows (1 = error fully removed, 0 = no gain, < 0 = worse). */
export function recoverability(
  corr: LinearCorrection,
  x: ArrayLike<number>,
  e: ArrayLike<number>,
  d: number,
  m: number,
  rows: RowRanges,
): number {
  const { sse, base } = correctionSse(corr, x, e, d, m, rows);
  return base > 0 ? 1 - sse / base : 0;
}

/** The α grid searched by fitRidgeCorrection (λ = α·tr(X̃ᵀX̃)/d). */
export const DEFAULT_ALPHAS: readonly number[] = [1e-4, 1e-3, 1e-2, 1e-1, 1, 10];

/**
 * Fits the ridge correction on the union of `folds` (each a set of row ranges, e.g. whole windows),
 * choosing α from `alphas` by K-fold cross-validation: for each fold, fit on the other folds and sum
 * the residual on it; the α with the smallest total wins (ties → the larger α), then the map is
 * refitted on all folds. Moments are computed once per fold and combined (they add), so the
 * cross-validation costs K·|alphas| solves, not K more passes over the data. One fold or one α: no
 * cross-validation.
 */
export function fitRidgeCorrection(
  x: ArrayLike<number>,
  e: ArrayLike<number>,
  d: number,
  m: number,
  folds: readonly RowRanges[],
  alphas: readonly number[] = DEFAULT_ALPHAS,
): LinearCorrection {
  if (alphas.length === 0) throw new NqInputError('alphas', 'is empty', 'Pass at least one α ≥ 0.');
  if (folds.length === 0)
    throw new NqInputError('folds', 'is empty', 'Pass at least one set of training rows.');
  const parts = folds.map((f) => momentsOf(x, e, d, m, f));
  const all = parts.reduce((a, b) => addMoments(a, b));
  if (alphas.length === 1 || folds.length === 1) return solveRidge(all, alphas[0]!);
  const without = parts.map((_, k) => parts.filter((_, i) => i !== k).reduce((a, b) => addMoments(a, b)));
  let best = alphas[0]!;
  let bestSse = Number.POSITIVE_INFINITY;
  for (const a of alphas) {
    let sse = 0;
    for (let k = 0; k < folds.length; k++)
      sse += correctionSse(solveRidge(without[k]!, a), x, e, d, m, folds[k]!).sse;
    // Ties (within float noise) prefer the larger α: the smoother map.
    if (sse <= bestSse * (1 + 1e-12)) {
      best = a;
      bestSse = Math.min(sse, bestSse);
    }
  }
  return solveRidge(all, best);
}

/** ŷ = y + y·B + bias for every row of y [T, d] (float32, as the forward pass uses it), in place. */
export function applyLinearCorrection(corr: LinearCorrection, y: Float32Array, rows: number): void {
  const { d, m } = corr;
  if (d !== m)
    throw new NqInputError(
      'corr',
      `maps ${d} → ${m} channels`,
      'Apply only square corrections to a sub-layer output.',
    );
  const src = new Float64Array(d);
  const out = new Float64Array(m);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < d; i++) src[i] = y[r * d + i]!;
    out.set(corr.bias);
    for (let i = 0; i < d; i++) {
      const xi = src[i]!;
      if (xi === 0) continue;
      const row = i * m;
      for (let j = 0; j < m; j++) out[j]! += xi * corr.B[row + j]!;
    }
    for (let j = 0; j < m; j++) y[r * m + j] = src[j]! + out[j]!;
  }
}
