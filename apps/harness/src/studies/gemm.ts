import type { Matrix } from '@nq/core';

/**
 * Y = A·Bᵀ (A: m×k, B: n×k) accumulated in float64 and returned as float64, for error metrics where
 * float32 accumulation noise (≈1e-7 relative) must stay far below the quantization error being
 * measured. Row-by-row dot products over contiguous memory; no allocation in the inner loops.
 */
export function matmulABtF64(a: Matrix, b: Matrix): Float64Array {
  const m = a.rows;
  const n = b.rows;
  const k = a.cols;
  const A = a.data;
  const B = b.data;
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    const ao = i * k;
    for (let j = 0; j < n; j++) {
      const bo = j * k;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let t = 0;
      for (; t + 3 < k; t += 4) {
        s0 += A[ao + t]! * B[bo + t]!;
        s1 += A[ao + t + 1]! * B[bo + t + 1]!;
        s2 += A[ao + t + 2]! * B[bo + t + 2]!;
        s3 += A[ao + t + 3]! * B[bo + t + 3]!;
      }
      for (; t < k; t++) s0 += A[ao + t]! * B[bo + t]!;
      out[i * n + j] = s0 + s1 + s2 + s3;
    }
  }
  return out;
}

/** ‖approx − ref‖² / ‖ref‖² in float64 (0 when equal; +∞ when ref is all zero and approx is not). */
export function relativeMse(ref: ArrayLike<number>, approx: ArrayLike<number>): number {
  let e = 0;
  let s = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i]!;
    const d = approx[i]! - r;
    e += d * d;
    s += r * r;
  }
  if (s === 0) return e === 0 ? 0 : Number.POSITIVE_INFINITY;
  return e / s;
}

/** Signal-to-quantization-noise ratio in dB from a relative MSE. */
export function sqnrDb(relMse: number): number {
  return relMse === 0 ? Number.POSITIVE_INFINITY : -10 * Math.log10(relMse);
}
