/*
 * Dense float64 linear algebra GPTQ needs: Cholesky and the upper Cholesky factor of H⁻¹.
 * Matrices are n × n, row-major Float64Array.
 */

/**
 * In-place lower Cholesky (Cholesky–Banachiewicz, row by row: every inner loop is a dot product of
 * two contiguous row prefixes). On success the lower triangle holds L with A = L·Lᵀ and the strict
 * upper triangle is zeroed; returns -1. When a pivot is not positive (A not positive definite in
 * floating point) it stops and returns that pivot's index; `a` is then partially overwritten.
 */
export function choleskyLowerInPlace(a: Float64Array, n: number): number {
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j <= i; j++) {
      const rj = j * n;
      let s = a[ri + j]!;
      // s -= Σ_k<j L[i,k]·L[j,k], unrolled by 4
      let k = 0;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (; k + 3 < j; k += 4) {
        s0 += a[ri + k]! * a[rj + k]!;
        s1 += a[ri + k + 1]! * a[rj + k + 1]!;
        s2 += a[ri + k + 2]! * a[rj + k + 2]!;
        s3 += a[ri + k + 3]! * a[rj + k + 3]!;
      }
      for (; k < j; k++) s0 += a[ri + k]! * a[rj + k]!;
      s -= s0 + s1 + s2 + s3;
      if (j === i) {
        if (!(s > 0) || !Number.isFinite(s)) return i;
        a[ri + i] = Math.sqrt(s);
      } else {
        a[ri + j] = s / a[rj + j]!;
      }
    }
    for (let j = i + 1; j < n; j++) a[ri + j] = 0;
  }
  return -1;
}

/**
 * The upper-triangular U with H⁻¹ = Uᵀ·U (what the reference GPTQ gets from
 * `cholesky(cholesky_inverse(cholesky(H)), upper=True)`), computed without forming H⁻¹:
 * with J the reversal permutation, let J·H·J = L'·L'ᵀ (lower Cholesky) and M = J·L'·J (upper), so
 * H = M·Mᵀ and H⁻¹ = M⁻ᵀ·M⁻¹; hence U = M⁻¹ (upper, positive diagonal — the unique such factor).
 * Cost ≈ n³/3 + n³/3 flops instead of four n³/3 steps.
 *
 * Returns U (new array) or the index (in H's order) of the first failing pivot.
 */
export function upperCholeskyOfInverse(h: Float64Array, n: number): { u: Float64Array } | { failedAt: number } {
  // r = J·H·J: r[i,j] = h[n-1-i, n-1-j]
  const r = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const src = (n - 1 - i) * n;
    const dst = i * n;
    for (let j = 0; j < n; j++) r[dst + j] = h[src + n - 1 - j]!;
  }
  const bad = choleskyLowerInPlace(r, n);
  if (bad >= 0) return { failedAt: n - 1 - bad };
  // Invert L' (lower) in place into X = L'⁻¹ (lower), column by column via forward substitution on
  // rows: X[i,j] = −(Σ_{k=j}^{i−1} L[i,k]·X[k,j]) / L[i,i] for j < i, X[i,i] = 1/L[i,i].
  // Row-oriented: row i of X depends on rows < i of X; keep X in a separate array for clarity.
  const x = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    const inv = 1 / r[ri + i]!;
    // x[i, 0..i-1] = −inv · Σ_k<i L[i,k]·X[k, 0..k]   (X[k, j] = 0 for j > k)
    for (let k = 0; k < i; k++) {
      const l = r[ri + k]!;
      if (l === 0) continue;
      const rk = k * n;
      for (let j = 0; j <= k; j++) x[ri + j] += l * x[rk + j]!;
    }
    for (let j = 0; j < i; j++) x[ri + j] = -x[ri + j]! * inv;
    x[ri + i] = inv;
  }
  // U = M⁻¹ = J·L'⁻¹·J: U[i,j] = X[n-1-i, n-1-j]; X lower ⇒ U upper.
  const u = r; // reuse storage
  for (let i = 0; i < n; i++) {
    const dst = i * n;
    const src = (n - 1 - i) * n;
    for (let j = 0; j < n; j++) u[dst + j] = x[src + n - 1 - j]!;
  }
  return { u };
}
