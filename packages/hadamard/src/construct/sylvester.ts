/** Sylvester's H_n for n a power of two, natural (Walsh–Hadamard) order: H[i][j] = (−1)^popcount(i & j). */
export function sylvesterEntry(i: number, j: number): number {
  let v = i & j;
  v ^= v >>> 16;
  v ^= v >>> 8;
  v ^= v >>> 4;
  v ^= v >>> 2;
  v ^= v >>> 1;
  return v & 1 ? -1 : 1;
}

export function sylvester(n: number): Int8Array {
  const h = new Int8Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) h[i * n + j] = sylvesterEntry(i, j);
  return h;
}

/** Kronecker product A ⊗ B of two square ±1 matrices (row-major). */
export function kronecker(a: Int8Array, na: number, b: Int8Array, nb: number): Int8Array {
  const n = na * nb;
  const h = new Int8Array(n * n);
  for (let i = 0; i < na; i++)
    for (let j = 0; j < na; j++) {
      const s = a[i * na + j]!;
      for (let k = 0; k < nb; k++)
        for (let l = 0; l < nb; l++) h[(i * nb + k) * n + j * nb + l] = s * b[k * nb + l]!;
    }
  return h;
}
