/*
 * Dense float64 linear algebra GPTQ needs: Cholesky and the upper Cholesky factor of H⁻¹.
 * Matrices are n × n, row-major Float64Array.
 */

/**
 * In-place lower Cholesky, blocked (right-looking, panels of NB columns) so the O(n³) trailing
 * update streams cache-resident panel rows instead of the whole matrix. On success the lower
 * triangle holds L with A = L·Lᵀ and the strict upper triangle is zeroed; returns -1. When a pivot
 * is not positive (A not positive definite in floating point) it stops and returns that pivot's
 * index; `a` is then partially overwritten.
 */
export function choleskyLowerInPlace(a: Float64Array, n: number): number {
  const NB = 48;
  for (let k0 = 0; k0 < n; k0 += NB) {
    const k1 = Math.min(k0 + NB, n);
    // 1. factor the diagonal block and the panel below it (unblocked, left-looking within the panel:
    //    the trailing update from earlier panels has already been applied)
    for (let j = k0; j < k1; j++) {
      const rj = j * n;
      let d = a[rj + j]!;
      for (let k = k0; k < j; k++) d -= a[rj + k]! * a[rj + k]!;
      if (!(d > 0) || !Number.isFinite(d)) return j;
      const ljj = Math.sqrt(d);
      a[rj + j] = ljj;
      const inv = 1 / ljj;
      for (let i = j + 1; i < n; i++) {
        const ri = i * n;
        let s = a[ri + j]!;
        for (let k = k0; k < j; k++) s -= a[ri + k]! * a[rj + k]!;
        a[ri + j] = s * inv;
      }
    }
    // 2. trailing update A[i, j] −= Σ_{k∈panel} L[i,k]·L[j,k] for k1 ≤ j ≤ i (lower triangle),
    //    two rows i at a time, two columns j at a time (2×2 register tile)
    for (let i = k1; i < n; i += 2) {
      const ri = i * n;
      const two = i + 1 < n;
      const ri1 = ri + n;
      for (let j = k1; j <= (two ? i + 1 : i); j += 2) {
        const rj = j * n;
        const jTwo = j + 1 <= (two ? i + 1 : i);
        const rj1 = rj + n;
        let s00 = 0;
        let s01 = 0;
        let s10 = 0;
        let s11 = 0;
        if (two && jTwo) {
          // the common case: a full 2×2 tile, no branches in the inner loop
          for (let k = k0; k < k1; k++) {
            const ai = a[ri + k]!;
            const ai1 = a[ri1 + k]!;
            const bj = a[rj + k]!;
            const bj1 = a[rj1 + k]!;
            s00 += ai * bj;
            s01 += ai * bj1;
            s10 += ai1 * bj;
            s11 += ai1 * bj1;
          }
        } else {
          for (let k = k0; k < k1; k++) {
            const ai = a[ri + k]!;
            const bj = a[rj + k]!;
            s00 += ai * bj;
            if (jTwo) s01 += ai * a[rj1 + k]!;
            if (two) {
              const ai1 = a[ri1 + k]!;
              s10 += ai1 * bj;
              if (jTwo) s11 += ai1 * a[rj1 + k]!;
            }
          }
        }
        if (j <= i) a[ri + j] -= s00;
        if (jTwo && j + 1 <= i) a[ri + j + 1] -= s01;
        if (two) {
          a[ri1 + j] -= s10;
          if (jTwo) a[ri1 + j + 1] -= s11;
        }
      }
    }
  }
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) a[i * n + j] = 0;
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
export function upperCholeskyOfInverse(
  h: Float64Array,
  n: number,
): { u: Float64Array } | { failedAt: number } {
  // r = J·H·J: r[i,j] = h[n-1-i, n-1-j]
  const r = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const src = (n - 1 - i) * n;
    const dst = i * n;
    for (let j = 0; j < n; j++) r[dst + j] = h[src + n - 1 - j]!;
  }
  const bad = choleskyLowerInPlace(r, n);
  if (bad >= 0) return { failedAt: n - 1 - bad };
  // X = L'⁻¹ (lower) by forward substitution, NB columns at a time: for columns [c0, c1) and every
  // row i ≥ c0, X[i, c] = (δ_ic − Σ_{c0 ≤ k < i} L[i,k]·X[k,c]) / L[i,i] (X[k, c] = 0 for k < c).
  // The block's X rows live in a small contiguous panel, so the inner axpy stays in cache.
  const x = new Float64Array(n * n);
  const NB = 64;
  const panel = new Float64Array(n * NB);
  const acc = new Float64Array(NB);
  for (let c0 = 0; c0 < n; c0 += NB) {
    const c1 = Math.min(c0 + NB, n);
    const nb = c1 - c0;
    for (let i = c0; i < n; i++) {
      const ri = i * n;
      acc.fill(0, 0, nb);
      // four panel rows per pass: acc is loaded and stored once per four multiply-adds
      let k = c0;
      for (; k + 3 < i; k += 4) {
        const l0 = r[ri + k]!;
        const l1 = r[ri + k + 1]!;
        const l2 = r[ri + k + 2]!;
        const l3 = r[ri + k + 3]!;
        const p0 = (k - c0) * nb;
        const p1 = p0 + nb;
        const p2 = p1 + nb;
        const p3 = p2 + nb;
        for (let c = 0; c < nb; c++)
          acc[c] += l0 * panel[p0 + c]! + l1 * panel[p1 + c]! + l2 * panel[p2 + c]! + l3 * panel[p3 + c]!;
      }
      for (; k < i; k++) {
        const l = r[ri + k]!;
        const pk = (k - c0) * nb;
        for (let c = 0; c < nb; c++) acc[c] += l * panel[pk + c]!;
      }
      const inv = 1 / r[ri + i]!;
      const pi = (i - c0) * nb;
      for (let c = 0; c < nb; c++) {
        const col = c0 + c;
        panel[pi + c] = col > i ? 0 : ((col === i ? 1 : 0) - acc[c]!) * inv;
      }
      for (let c = 0; c < nb; c++) x[ri + c0 + c] = panel[pi + c]!;
    }
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
