import { type Matrix, matrix, Rng } from '@nq/core';

/** Gaussian rows × cols test matrix from a seed. */
export function gaussian(rows: number, cols: number, seed: number): Matrix {
  return matrix(rows, cols, new Rng(seed).normals(rows * cols));
}

/** Plain float64 product A·B (A: r×k, B: k×c) — an independent reference for the fast kernels. */
export function matmul(a: Matrix, b: Matrix): Float64Array {
  const out = new Float64Array(a.rows * b.cols);
  for (let i = 0; i < a.rows; i++)
    for (let k = 0; k < a.cols; k++) {
      const v = a.data[i * a.cols + k]!;
      if (v === 0) continue;
      for (let j = 0; j < b.cols; j++) out[i * b.cols + j]! += v * b.data[k * b.cols + j]!;
    }
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** max |R·Rᵀ − I| of a dense square matrix. */
export function orthogonalityError(r: Matrix): number {
  const n = r.rows;
  let worst = 0;
  for (let i = 0; i < n; i++)
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let t = 0; t < n; t++) s += r.data[i * n + t]! * r.data[j * n + t]!;
      worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
    }
  return worst;
}
