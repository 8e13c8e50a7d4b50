/*
 * Small float64 dense helpers (row-major). Rotations are optimised in float64 so that orthogonality
 * survives many updates; activations stay float32.
 */

/** C = A·B for A [m, k], B [k, n] (row-major float64). */
export function matmul64(
  a: Float64Array,
  b: Float64Array,
  m: number,
  k: number,
  n: number,
  out = new Float64Array(m * n),
): Float64Array {
  out.fill(0);
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p]!;
      if (aip === 0) continue;
      const bp = p * n;
      for (let j = 0; j < n; j++) out[ci + j]! += aip * b[bp + j]!;
    }
  }
  return out;
}

/** Aᵀ for A [m, n]. */
export function transpose64(
  a: Float64Array,
  m: number,
  n: number,
  out = new Float64Array(m * n),
): Float64Array {
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[j * m + i] = a[i * n + j]!;
  return out;
}

/** The n × n identity. */
export function eye64(n: number): Float64Array {
  const r = new Float64Array(n * n);
  for (let i = 0; i < n; i++) r[i * n + i] = 1;
  return r;
}

/** max |QᵀQ − I| over all entries, for Q [m, n] (columns orthonormal ⇒ 0). */
export function orthogonalityError(q: ArrayLike<number>, m: number, n: number): number {
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let r = 0; r < m; r++) s += q[r * n + i]! * q[r * n + j]!;
      const e = Math.abs(s - (i === j ? 1 : 0));
      if (e > worst) worst = e;
    }
  }
  return worst;
}

/** Frobenius norm. */
export function frobenius(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return Math.sqrt(s);
}

/**
 * Solves A·X = B in place for A [n, n], B [n, m] (Gaussian elimination with partial pivoting,
 * float64). A and B are overwritten; X is returned in B. Throws on a singular pivot.
 */
export function solveInPlace(a: Float64Array, b: Float64Array, n: number, m: number): Float64Array {
  for (let c = 0; c < n; c++) {
    let p = c;
    let best = Math.abs(a[c * n + c]!);
    for (let r = c + 1; r < n; r++) {
      const v = Math.abs(a[r * n + c]!);
      if (v > best) {
        best = v;
        p = r;
      }
    }
    if (best === 0) throw new Error(`solveInPlace: singular matrix at column ${c}`);
    if (p !== c) {
      for (let j = 0; j < n; j++) {
        const t = a[c * n + j]!;
        a[c * n + j] = a[p * n + j]!;
        a[p * n + j] = t;
      }
      for (let j = 0; j < m; j++) {
        const t = b[c * m + j]!;
        b[c * m + j] = b[p * m + j]!;
        b[p * m + j] = t;
      }
    }
    const inv = 1 / a[c * n + c]!;
    for (let r = c + 1; r < n; r++) {
      const f = a[r * n + c]! * inv;
      if (f === 0) continue;
      for (let j = c; j < n; j++) a[r * n + j]! -= f * a[c * n + j]!;
      for (let j = 0; j < m; j++) b[r * m + j]! -= f * b[c * m + j]!;
    }
  }
  for (let c = n - 1; c >= 0; c--) {
    const inv = 1 / a[c * n + c]!;
    for (let j = 0; j < m; j++) {
      let s = b[c * m + j]!;
      for (let k = c + 1; k < n; k++) s -= a[c * n + k]! * b[k * m + j]!;
      b[c * m + j] = s * inv;
    }
  }
  return b;
}
