/**
 * The H_m factor of a Kronecker block H_m ⊗ H_p. The block (b = m·p values at d[off..]) is viewed as
 * an m × p matrix Z (row a = the a-th chunk of p, already transformed by H_p); the block becomes
 *   forward:  Y = H_mᵀ·Z, i.e. y[a'] = Σ_a H[a][a']·z[a]   (x·(H_m ⊗ H_p) in row-vector form)
 *   inverse:  Y = H_m·Z,  i.e. y[a'] = Σ_a H[a'][a]·z[a]   (x·(H_m ⊗ H_p)ᵀ)
 * Entries of H_m are ±1, so rows are added or subtracted: m²·p additions, contiguous inner loops.
 * `scratch` holds m·p floats (allocated once per call by the caller, never per row).
 */
export function mixKronecker(
  d: Float32Array,
  off: number,
  m: number,
  p: number,
  hm: Float32Array,
  transposed: boolean,
  scratch: Float32Array,
): void {
  for (let a2 = 0; a2 < m; a2++) {
    const dst = a2 * p;
    for (let a = 0; a < m; a++) {
      const h = transposed ? hm[a2 * m + a]! : hm[a * m + a2]!;
      const src = off + a * p;
      if (a === 0) {
        if (h > 0) for (let c = 0; c < p; c++) scratch[dst + c] = d[src + c]!;
        else for (let c = 0; c < p; c++) scratch[dst + c] = -d[src + c]!;
      } else if (h > 0) for (let c = 0; c < p; c++) scratch[dst + c] = scratch[dst + c]! + d[src + c]!;
      else for (let c = 0; c < p; c++) scratch[dst + c] = scratch[dst + c]! - d[src + c]!;
    }
  }
  d.set(scratch.subarray(0, m * p), off);
}
