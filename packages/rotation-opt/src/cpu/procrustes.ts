import { NqInputError } from '@nq/core';
import { svd } from './svd.js';

/**
 * Orthogonal Procrustes: the orthogonal R [n, n] maximising tr(Rᵀ·M), i.e. minimising
 * Σₜ wₜ‖xₜ·R − yₜ‖² when M = Xᵀ·diag(w)·Y. Solution R = U·Vᵀ from M = U·S·Vᵀ (Schönemann 1966).
 */
export function procrustes(m: ArrayLike<number>, n: number): Float64Array {
  if (m.length !== n * n)
    throw new NqInputError(
      'procrustes(m)',
      `has ${m.length} entries, expected ${n * n}`,
      'Pass the n × n cross product XᵀWY.',
    );
  const { u, v } = svd(m, n, n);
  const r = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const uik = u[i * n + k]!;
      if (uik === 0) continue;
      for (let j = 0; j < n; j++) r[i * n + j]! += uik * v[j * n + k]!;
    }
  }
  return r;
}

/**
 * M = Σₜ wₜ·xₜᵀ·yₜ (n × n, float64) for row sets X, Y [rows, n] (float32 or float64). `w` null = 1.
 */
export function weightedCross(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  rows: number,
  n: number,
  w: ArrayLike<number> | null,
  out = new Float64Array(n * n),
): Float64Array {
  out.fill(0);
  const yr = new Float64Array(n);
  for (let t = 0; t < rows; t++) {
    const wt = w ? w[t]! : 1;
    if (wt === 0) continue;
    const o = t * n;
    for (let j = 0; j < n; j++) yr[j] = y[o + j]! * wt;
    for (let i = 0; i < n; i++) {
      const xi = x[o + i]!;
      if (xi === 0) continue;
      const oi = i * n;
      for (let j = 0; j < n; j++) out[oi + j]! += xi * yr[j]!;
    }
  }
  return out;
}
