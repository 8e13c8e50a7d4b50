import { gemmABt } from '@nq/model/cpu';

/**
 * Y = X·R for X [rows, n] float32 and a dense R [n, n] (float64 or float32). Uses the forward pass's
 * blocked float32 GEMM (Y = X·(Rᵀ)ᵀ), so R is transposed into float32 once.
 */
export function rotateRows(
  x: Float32Array,
  rows: number,
  n: number,
  r: ArrayLike<number>,
  out: Float32Array = new Float32Array(rows * n),
): Float32Array {
  const rt = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) rt[j * n + i] = r[i * n + j]!;
  gemmABt(x, rows, n, rt, n, out);
  return out;
}

/** Y = X·Rᵀ (the inverse of an orthogonal R). */
export function rotateRowsT(
  x: Float32Array,
  rows: number,
  n: number,
  r: ArrayLike<number>,
  out: Float32Array = new Float32Array(rows * n),
): Float32Array {
  const rf = r instanceof Float32Array ? r : Float32Array.from(r);
  gemmABt(x, rows, n, rf, n, out);
  return out;
}
