import { type Matrix, NqInputError } from '@nq/core';

/**
 * Y = A · Bᵀ (A: m×k, B: n×k, both row-major) in float32 storage with float64 accumulation. Both
 * operands are read along contiguous rows; four output columns are computed per pass over a row of
 * A so each A element loaded serves four products.
 */
export function gemmABt(a: Matrix, b: Matrix, nameB = 'b'): Matrix {
  if (a.cols !== b.cols)
    throw new NqInputError(
      nameB,
      `has ${b.cols} columns but the left operand has ${a.cols}`,
      'A·Bᵀ needs equal inner dimensions.',
    );
  const m = a.rows;
  const n = b.rows;
  const k = a.cols;
  const A = a.data;
  const B = b.data;
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    const ao = i * k;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const b0 = j * k;
      const b1 = b0 + k;
      const b2 = b1 + k;
      const b3 = b2 + k;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let t = 0; t < k; t++) {
        const av = A[ao + t]!;
        s0 += av * B[b0 + t]!;
        s1 += av * B[b1 + t]!;
        s2 += av * B[b2 + t]!;
        s3 += av * B[b3 + t]!;
      }
      const o = i * n + j;
      out[o] = s0;
      out[o + 1] = s1;
      out[o + 2] = s2;
      out[o + 3] = s3;
    }
    for (; j < n; j++) {
      const bo = j * k;
      let s = 0;
      for (let t = 0; t < k; t++) s += A[ao + t]! * B[bo + t]!;
      out[i * n + j] = s;
    }
  }
  return { rows: m, cols: n, data: out };
}

/** x ↦ x·R for a dense k×k matrix R (row-major), i.e. gemmABt(x, Rᵀ). */
export function denseRotation(r: Matrix): (x: Matrix) => Matrix {
  if (r.rows !== r.cols)
    throw new NqInputError(
      'r',
      `is ${r.rows}×${r.cols}, a rotation must be square`,
      'Pass a k×k orthogonal matrix.',
    );
  const k = r.rows;
  const rt = new Float32Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) rt[j * k + i] = r.data[i * k + j]!;
  const rT = { rows: k, cols: k, data: rt };
  return (x: Matrix) => gemmABt(x, rT, 'x');
}
