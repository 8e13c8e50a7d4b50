/**
 * Williamson-type constructions for the orders Paley does not reach (156 = 4·39, 172 = 4·43).
 *
 * Williamson matrices of order n: symmetric circulant ±1 matrices A, B, C, D with
 * A² + B² + C² + D² = 4n·I. Then
 *   H = [[ A,  B,  C,  D],
 *        [−B,  A, −D,  C],
 *        [−C,  D,  A, −B],
 *        [−D, −C,  B,  A]]
 * is Hadamard of order 4n. For circulants the condition is on first rows: the periodic
 * autocorrelations PAF_A(s) + PAF_B(s) + PAF_C(s) + PAF_D(s) = 0 for every shift s ≠ 0.
 *
 * Finding the first rows: Williamson's own method (1944) — look only at sequences that are constant
 * on the orbits of a multiplier group M ⊂ Z_n* containing −1 (so they are symmetric). Their PAF is
 * then constant on M-orbits of shifts too, the search space is 2^(orbits+1) per sequence, and a
 * meet-in-the-middle match of PAF_A + PAF_B against −(PAF_C + PAF_D) finishes in milliseconds
 * (n = 43: M = ⟨6, −1⟩ of order 6, 7 orbits; n = 13: M = ⟨5⟩, 3 orbits). Deterministic: multipliers
 * and masks are tried in increasing order.
 *
 * 156 = 4·3·13 has no Williamson matrices of order 39 reachable this way; it comes from the
 * Cooper–Wallis construction: T-matrices of order 3 (X1, X2, X3 = the three shifts, X4 = 0) combined
 * with Williamson matrices of order 13 into four commuting matrices A_i of order 39 (Kronecker
 * products of circulants), plugged into the Goethals–Seidel array.
 */

export interface WilliamsonQuadruple {
  n: number;
  rows: [Int8Array, Int8Array, Int8Array, Int8Array];
}

const MAX_ORBITS = 8;

function orbitIndex(n: number, gens: number[]): { index: Int32Array; reps: number[] } {
  const index = new Int32Array(n).fill(-1);
  const reps: number[] = [];
  for (let x = 1; x < n; x++) {
    if (index[x]! >= 0) continue;
    const orbit = [x];
    index[x] = reps.length;
    for (let i = 0; i < orbit.length; i++)
      for (const g of gens) {
        const y = (orbit[i]! * g) % n;
        if (index[y]! < 0) {
          index[y] = reps.length;
          orbit.push(y);
        }
      }
    reps.push(x);
  }
  return { index, reps };
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** First rows of Williamson matrices of odd order n, or null if the orbit search finds none. */
export function searchWilliamson(n: number): WilliamsonQuadruple | null {
  for (let g = 2; g < n; g++) {
    if (gcd(g, n) !== 1) continue;
    const { index, reps } = orbitIndex(n, [g, n - 1]);
    if (reps.length > MAX_ORBITS) continue;
    const found = matchQuadruple(n, index, reps);
    if (found) return { n, rows: found };
  }
  return null;
}

function matchQuadruple(
  n: number,
  index: Int32Array,
  reps: number[],
): [Int8Array, Int8Array, Int8Array, Int8Array] | null {
  const count = 1 << (reps.length + 1);
  const seqs: Int8Array[] = [];
  const pafs: Int32Array[] = [];
  for (let mask = 0; mask < count; mask++) {
    const a = new Int8Array(n);
    a[0] = mask & 1 ? -1 : 1;
    for (let x = 1; x < n; x++) a[x] = (mask >> (index[x]! + 1)) & 1 ? -1 : 1;
    const paf = new Int32Array(reps.length);
    reps.forEach((s, t) => {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += a[i]! * a[(i + s) % n]!;
      paf[t] = sum;
    });
    seqs.push(a);
    pafs.push(paf);
  }
  const key = (i: number, j: number, sign: number): string => {
    let k = '';
    for (let t = 0; t < reps.length; t++) k += `${sign * (pafs[i]![t]! + pafs[j]![t]!)},`;
    return k;
  };
  const pairs = new Map<string, [number, number]>();
  for (let i = 0; i < count; i++)
    for (let j = i; j < count; j++) if (!pairs.has(key(i, j, 1))) pairs.set(key(i, j, 1), [i, j]);
  for (let i = 0; i < count; i++)
    for (let j = i; j < count; j++) {
      const hit = pairs.get(key(i, j, -1));
      if (hit) return [seqs[hit[0]]!, seqs[hit[1]]!, seqs[i]!, seqs[j]!];
    }
  return null;
}

/** Circulant matrix entry: circ(row)[i][j] = row[(j − i) mod n]. */
const circ = (row: Int8Array, n: number, i: number, j: number): number => row[(((j - i) % n) + n) % n]!;

/** The Williamson array above, order 4n. */
export function williamsonArray(q: WilliamsonQuadruple): Int8Array {
  const { n, rows } = q;
  // block (r, c) = sign · (matrix index): rows of the array in terms of A=0, B=1, C=2, D=3
  const which = [
    [0, 1, 2, 3],
    [1, 0, 3, 2],
    [2, 3, 0, 1],
    [3, 2, 1, 0],
  ];
  const sign = [
    [1, 1, 1, 1],
    [-1, 1, -1, 1],
    [-1, 1, 1, -1],
    [-1, -1, 1, 1],
  ];
  const m = 4 * n;
  const h = new Int8Array(m * m);
  for (let br = 0; br < 4; br++)
    for (let bc = 0; bc < 4; bc++) {
      const row = rows[which[br]![bc]!];
      const s = sign[br]![bc]!;
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) h[(br * n + i) * m + bc * n + j] = s * circ(row, n, i, j);
    }
  return h;
}

/**
 * Cooper–Wallis with T-matrices of order 3 (the three cyclic shifts) and Williamson matrices of
 * order w: A_i of order 3w, combined in the Goethals–Seidel array, give a Hadamard matrix of order 12w.
 *   A1 =  X1⊗A + X2⊗B + X3⊗C,  A2 = −X1⊗B + X2⊗A + X3⊗D,
 *   A3 = −X1⊗C − X2⊗D + X3⊗A,  A4 = −X1⊗D + X2⊗C − X3⊗B     (X4 = 0)
 * Σ A_i A_iᵀ = (Σ X_j X_jᵀ) ⊗ (A² + B² + C² + D²) = 3I ⊗ 4wI, the cross terms cancel because the
 * Williamson matrices commute. Goethals–Seidel, with R = R_3 ⊗ R_w the back-identity:
 *   [[ A1,    A2R,    A3R,    A4R ],
 *    [−A2R,   A1,     A4ᵀR,  −A3ᵀR],
 *    [−A3R,  −A4ᵀR,   A1,     A2ᵀR],
 *    [−A4R,   A3ᵀR,  −A2ᵀR,   A1  ]]
 */
export function cooperWallis3(q: WilliamsonQuadruple): Int8Array {
  const w = q.n;
  const [A, B, C, D] = q.rows;
  const t = 3;
  const n = t * w;
  // X_j[r][c] = 1 iff c − r ≡ j − 1 (mod 3); terms[i] lists (X index, sign, Williamson row) for A_{i+1}.
  const terms: [number, number, Int8Array][][] = [
    [
      [0, 1, A],
      [1, 1, B],
      [2, 1, C],
    ],
    [
      [0, -1, B],
      [1, 1, A],
      [2, 1, D],
    ],
    [
      [0, -1, C],
      [1, -1, D],
      [2, 1, A],
    ],
    [
      [0, -1, D],
      [1, 1, C],
      [2, -1, B],
    ],
  ];
  const mats = terms.map((ts) => {
    const m = new Int8Array(n * n);
    for (let r = 0; r < t; r++)
      for (let c = 0; c < t; c++) {
        const shift = (((c - r) % t) + t) % t;
        const term = ts.find(([x]) => x === shift);
        if (!term) continue;
        const [, s, row] = term;
        for (let i = 0; i < w; i++)
          for (let j = 0; j < w; j++) m[(r * w + i) * n + c * w + j] = s * circ(row, w, i, j);
      }
    return m;
  });
  // Entry (i, j) of M·R is M[i][rev(j)], of Mᵀ·R is M[rev(j)][i], rev = the back-identity on Z_3 × Z_w.
  const rev = (j: number): number => (t - 1 - Math.floor(j / w)) * w + (w - 1 - (j % w));
  const mR = (k: number, i: number, j: number) => mats[k]![i * n + rev(j)]!;
  const mtR = (k: number, i: number, j: number) => mats[k]![rev(j) * n + i]!;
  const plain = (k: number, i: number, j: number) => mats[k]![i * n + j]!;
  type Cell = [(k: number, i: number, j: number) => number, number, number];
  const layout: Cell[][] = [
    [
      [plain, 0, 1],
      [mR, 1, 1],
      [mR, 2, 1],
      [mR, 3, 1],
    ],
    [
      [mR, 1, -1],
      [plain, 0, 1],
      [mtR, 3, 1],
      [mtR, 2, -1],
    ],
    [
      [mR, 2, -1],
      [mtR, 3, -1],
      [plain, 0, 1],
      [mtR, 1, 1],
    ],
    [
      [mR, 3, -1],
      [mtR, 2, 1],
      [mtR, 1, -1],
      [plain, 0, 1],
    ],
  ];
  const m = 4 * n;
  const h = new Int8Array(m * m);
  for (let br = 0; br < 4; br++)
    for (let bc = 0; bc < 4; bc++) {
      const [get, k, s] = layout[br]![bc]!;
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) h[(br * n + i) * m + bc * n + j] = s * get(k, i, j);
    }
  return h;
}
