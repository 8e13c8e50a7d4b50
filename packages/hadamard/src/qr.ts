import type { Rng } from '@nq/core';

/**
 * A Haar-distributed random orthogonal n×n matrix: QR of a Gaussian matrix (Householder, float64),
 * then Q·diag(sign(R_jj)) — without the sign fix Q is not uniformly distributed (Mezzadri 2007).
 * Returns row-major float32. Cost ≈ (4/3)·n³ flops: ~1 s at n = 768 in Node, minutes at 4096.
 */
export function haarOrthogonal(n: number, rng: Rng): Float32Array {
  // Column-major work array: column j is a[j*n .. j*n+n), so Householder updates run contiguous.
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[j * n + i] = rng.normal();
  const vs: Float64Array[] = [];
  const rdiagSign = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const ck = k * n;
    let norm = 0;
    for (let i = k; i < n; i++) norm += a[ck + i]! * a[ck + i]!;
    norm = Math.sqrt(norm);
    const x0 = a[ck + k]!;
    const alpha = x0 >= 0 ? -norm : norm; // R_kk = alpha; sign chosen to avoid cancellation
    rdiagSign[k] = alpha >= 0 ? 1 : -1;
    const v = new Float64Array(n - k);
    for (let i = k; i < n; i++) v[i - k] = a[ck + i]!;
    v[0]! -= alpha;
    let vnorm2 = 0;
    for (let i = 0; i < v.length; i++) vnorm2 += v[i]! * v[i]!;
    if (vnorm2 > 0) {
      const inv = 1 / Math.sqrt(vnorm2);
      for (let i = 0; i < v.length; i++) v[i]! *= inv;
    }
    vs.push(v);
    // Apply (I − 2vvᵀ) to the remaining columns.
    for (let j = k + 1; j < n; j++) {
      const cj = j * n + k;
      let d = 0;
      for (let i = 0; i < v.length; i++) d += v[i]! * a[cj + i]!;
      d *= 2;
      for (let i = 0; i < v.length; i++) a[cj + i]! -= d * v[i]!;
    }
  }
  // Q = H_0 H_1 … H_{n−1}: accumulate backwards onto the identity, column-major again.
  const q = new Float64Array(n * n);
  for (let j = 0; j < n; j++) q[j * n + j] = 1;
  for (let k = n - 1; k >= 0; k--) {
    const v = vs[k]!;
    for (let j = 0; j < n; j++) {
      const cj = j * n + k;
      let d = 0;
      for (let i = 0; i < v.length; i++) d += v[i]! * q[cj + i]!;
      d *= 2;
      if (d !== 0) for (let i = 0; i < v.length; i++) q[cj + i]! -= d * v[i]!;
    }
  }
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = q[j * n + i]! * rdiagSign[j]!;
  return out;
}
