import { type Matrix, NqInputError, Rng } from '@nq/core';
import type { OrthogonalOperator } from '../types.js';

/**
 * Dense orthogonal operators: the generic fallback for any size, and the reference against which
 * structured ones (@nq/hadamard's FWHT / Kronecker rotations) can be checked. x·R costs n² per row.
 */
export function denseOrthogonal(
  r: Matrix,
  label = `dense-${r.rows}`,
  checkTolerance = 1e-4,
): OrthogonalOperator {
  if (r.rows !== r.cols)
    throw new NqInputError('r', `is ${r.rows}×${r.cols}, not square`, 'Pass an n×n orthogonal matrix.');
  const n = r.rows;
  if (checkTolerance > 0) {
    // ‖RᵀR − I‖max, in float64: a non-orthogonal R would silently change the model's function.
    let worst = 0;
    for (let i = 0; i < n; i++)
      for (let j = i; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += r.data[k * n + i]! * r.data[k * n + j]!;
        worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
      }
    if (worst > checkTolerance) {
      throw new NqInputError(
        'r',
        `is not orthogonal (max |RᵀR − I| = ${worst.toExponential(2)})`,
        'Pass an orthogonal matrix (e.g. from randomOrthogonal or a normalized Hadamard).',
      );
    }
  }
  const data = r.data;
  return {
    dim: n,
    label,
    applyRight(m: Matrix): Matrix {
      if (m.cols !== n)
        throw new NqInputError(
          'm',
          `has ${m.cols} columns, the rotation is ${n}×${n}`,
          'Rotate rows of width equal to the rotation size.',
        );
      const out = new Float32Array(m.rows * n);
      const acc = new Float64Array(n);
      for (let i = 0; i < m.rows; i++) {
        acc.fill(0);
        const xo = i * n;
        for (let k = 0; k < n; k++) {
          const a = m.data[xo + k]!;
          if (a === 0) continue;
          const ro = k * n;
          for (let j = 0; j < n; j++) acc[j] += a * data[ro + j]!;
        }
        for (let j = 0; j < n; j++) out[xo + j] = acc[j]!;
      }
      return { rows: m.rows, cols: n, data: out };
    },
  };
}

/**
 * A Haar-random n×n orthogonal matrix: Gram–Schmidt (twice, in float64) on a seeded Gaussian
 * matrix, with signs fixed so that the distribution is uniform.
 */
export function randomOrthogonalMatrix(n: number, seed: number): Matrix {
  if (!Number.isInteger(n) || n <= 0 || n > 8192)
    throw new NqInputError('n', `must be an integer in [1, 8192], got ${n}`, 'Pass the rotation size.');
  const rng = new Rng(seed);
  const q = new Float64Array(n * n); // rows are the basis vectors
  for (let i = 0; i < n * n; i++) q[i] = rng.normal();
  for (let i = 0; i < n; i++) {
    const oi = i * n;
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < i; j++) {
        const oj = j * n;
        let d = 0;
        for (let k = 0; k < n; k++) d += q[oi + k]! * q[oj + k]!;
        for (let k = 0; k < n; k++) q[oi + k] -= d * q[oj + k]!;
      }
    }
    let s = 0;
    for (let k = 0; k < n; k++) s += q[oi + k]! * q[oi + k]!;
    const inv = 1 / Math.sqrt(s);
    for (let k = 0; k < n; k++) q[oi + k] *= inv;
  }
  return { rows: n, cols: n, data: Float32Array.from(q) };
}

/** denseOrthogonal(randomOrthogonalMatrix(n, seed)). */
export function randomOrthogonal(n: number, seed: number): OrthogonalOperator {
  return denseOrthogonal(randomOrthogonalMatrix(n, seed), `random-orthogonal-${n}-seed${seed}`, 0);
}
