import { type Matrix, matrix, Rng } from '@nq/core';

/** Correlated calibration inputs (AR(1) along the channels, a few heavy channels), like real activations. */
export function correlatedInputs(T: number, n: number, seed: number): Matrix {
  const rng = new Rng(seed);
  const x = matrix(T, n, rng.normals(T * n));
  const heavy = new Float64Array(n).fill(1);
  for (let i = 0; i < n; i += 17) heavy[i] = 4;
  for (let t = 0; t < T; t++) {
    const o = t * n;
    for (let j = 1; j < n; j++) x.data[o + j] = x.data[o + j]! + 0.6 * x.data[o + j - 1]!;
    for (let j = 0; j < n; j++) x.data[o + j] = x.data[o + j]! * heavy[j]!;
  }
  return x;
}

/** Naive float64 H = 2·XᵀX/N, written straight from the definition. */
export function naiveHessian(x: Matrix): Float64Array {
  const n = x.cols;
  const h = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < x.rows; t++) s += x.data[t * n + i]! * x.data[t * n + j]!;
      h[i * n + j] = (2 * s) / x.rows;
    }
  }
  return h;
}

/** Solves A·x = b (n × n, float64) by Gaussian elimination with partial pivoting. */
export function solve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const m = Float64Array.from(a);
  const x = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]!) > Math.abs(m[p * n + c]!)) p = r;
    if (p !== c) {
      for (let k = 0; k < n; k++) [m[c * n + k], m[p * n + k]] = [m[p * n + k]!, m[c * n + k]!];
      [x[c], x[p]] = [x[p]!, x[c]!];
    }
    for (let r = c + 1; r < n; r++) {
      const f = m[r * n + c]! / m[c * n + c]!;
      if (f === 0) continue;
      for (let k = c; k < n; k++) m[r * n + k] -= f * m[c * n + k]!;
      x[r] -= f * x[c]!;
    }
  }
  for (let c = n - 1; c >= 0; c--) {
    let s = x[c]!;
    for (let k = c + 1; k < n; k++) s -= m[c * n + k]! * x[k]!;
    x[c] = s / m[c * n + c]!;
  }
  return x;
}

/** e·H·eᵀ summed over rows, plain double loop (independent of proxyLoss). */
export function naiveLoss(w: Matrix, wq: ArrayLike<number>, h: Float64Array): number {
  const n = w.cols;
  let total = 0;
  for (let r = 0; r < w.rows; r++) {
    for (let i = 0; i < n; i++) {
      const ei = w.data[r * n + i]! - wq[r * n + i]!;
      for (let j = 0; j < n; j++) total += ei * h[i * n + j]! * (w.data[r * n + j]! - wq[r * n + j]!);
    }
  }
  return total;
}
