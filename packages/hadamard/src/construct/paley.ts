import { galoisField } from './galois.js';

/**
 * Paley's constructions from the quadratic character χ of GF(q). Q[i][j] = χ(a_i − a_j) is the
 * Jacobsthal matrix: Q·Qᵀ = qI − J, Q·J = 0, and Q is antisymmetric for q ≡ 3 (mod 4), symmetric
 * for q ≡ 1 (mod 4).
 *
 * Paley I  (q ≡ 3 mod 4): H = I + S, S = [[0, 1ᵀ], [−1, Q]] skew; order q + 1.
 * Paley II (q ≡ 1 mod 4): C = [[0, 1ᵀ], [1, Q]] is a symmetric conference matrix (C² = qI); replace
 *   every 0 of C by [[1, −1], [−1, −1]] and every ±1 by ±[[1, 1], [1, −1]]; order 2(q + 1).
 * Both return row-major ±1 entries.
 */
export function paleyI(q: number): Int8Array {
  const f = galoisField(q);
  if (q % 4 !== 3) throw new RangeError(`Paley I needs q ≡ 3 (mod 4), got ${q}`);
  const n = q + 1;
  const h = new Int8Array(n * n);
  for (let j = 0; j < n; j++) h[j] = 1; // first row: all ones
  for (let i = 1; i < n; i++) {
    h[i * n] = -1;
    for (let j = 1; j < n; j++) h[i * n + j] = i === j ? 1 : f.chi(f.sub(i - 1, j - 1));
  }
  return h;
}

export function paleyII(q: number): Int8Array {
  const f = galoisField(q);
  if (q % 4 !== 1) throw new RangeError(`Paley II needs q ≡ 1 (mod 4), got ${q}`);
  const c = q + 1;
  const conf = (i: number, j: number): number => {
    if (i === 0 && j === 0) return 0;
    if (i === 0 || j === 0) return 1;
    return f.chi(f.sub(i - 1, j - 1));
  };
  const n = 2 * c;
  const h = new Int8Array(n * n);
  for (let i = 0; i < c; i++) {
    for (let j = 0; j < c; j++) {
      const v = conf(i, j);
      // 2×2 replacement: zero → [[1,-1],[-1,-1]], ±1 → ±[[1,1],[1,-1]]
      const b = v === 0 ? [1, -1, -1, -1] : [v, v, v, -v];
      h[2 * i * n + 2 * j] = b[0]!;
      h[2 * i * n + 2 * j + 1] = b[1]!;
      h[(2 * i + 1) * n + 2 * j] = b[2]!;
      h[(2 * i + 1) * n + 2 * j + 1] = b[3]!;
    }
  }
  return h;
}
