import { F64Workspace } from './f64-workspace.js';

/*
 * The fast float64 path of GPTQ's setup: Cholesky and triangular inverse blocked in panels of NB
 * columns so that all but O(n²·NB) of the work is one primitive, F64Workspace.gemmSub (a packed,
 * register-tiled f64x2 WebAssembly kernel). linalg.ts keeps the unblocked-panel JavaScript versions
 * as the reference these are tested against.
 *
 * Matrices are n × n, row-major, at an offset `off` of the workspace memory.
 */

/** Panel width: the depth of every trailing-update product (longer = better kernel efficiency). */
export const PANEL = 128;

/** Doubles of scratch the blocked routines need besides the matrix itself. */
export function blockedScratchDoubles(n: number): number {
  return n * PANEL + PANEL * PANEL + 4;
}

/**
 * Unblocked lower Cholesky of the nb × nb block at mem[off] (leading dimension ld), lower triangle
 * only. Returns the failing pivot (local index) or -1.
 */
function blockCholesky(mem: Float64Array, off: number, ld: number, nb: number): number {
  for (let j = 0; j < nb; j++) {
    const rj = off + j * ld;
    let d = mem[rj + j]!;
    for (let k = 0; k < j; k++) d -= mem[rj + k]! * mem[rj + k]!;
    if (!(d > 0) || !Number.isFinite(d)) return j;
    const ljj = Math.sqrt(d);
    mem[rj + j] = ljj;
    const inv = 1 / ljj;
    for (let i = j + 1; i < nb; i++) {
      const ri = off + i * ld;
      let s = mem[ri + j]!;
      for (let k = 0; k < j; k++) s -= mem[ri + k]! * mem[rj + k]!;
      mem[ri + j] = s * inv;
    }
  }
  return -1;
}

/**
 * X = L⁻¹ for the nb × nb lower block at mem[off] (leading dimension ld), written to mem[xo] with
 * leading dimension nb, strict upper part zero. Column j: X[j,j] = 1/L[j,j];
 * X[i,j] = −Σ_{j≤k<i} L[i,k]·X[k,j] / L[i,i].
 */
function blockLowerInverse(mem: Float64Array, off: number, ld: number, nb: number, xo: number): void {
  mem.fill(0, xo, xo + nb * nb);
  for (let i = 0; i < nb; i++) {
    const li = off + i * ld;
    const xi = xo + i * nb;
    const inv = 1 / mem[li + i]!;
    for (let j = 0; j < i; j++) {
      let s = 0;
      for (let k = j; k < i; k++) s += mem[li + k]! * mem[xo + k * nb + j]!;
      mem[xi + j] = -s * inv;
    }
    mem[xi + i] = inv;
  }
}

/**
 * In-place lower Cholesky (right-looking, panels of PANEL columns): per panel, factor the diagonal
 * block (scalar), L21 = A21·L11⁻ᵀ (one gemmSub against the block's explicit inverse), then the
 * trailing lower triangle A22 −= L21·L21ᵀ (one gemmSub, tiles above the diagonal skipped).
 * On success the lower triangle holds L (A = L·Lᵀ), the strict upper triangle is zeroed and -1 is
 * returned; otherwise the index of the first non-positive pivot (matrix partially overwritten).
 * Only the lower triangle of A is read.
 */
export function choleskyLowerBlocked(ws: F64Workspace, off: number, n: number, scratch: number): number {
  const mem = ws.mem;
  const panelCopy = scratch; // n × PANEL: A21 before the solve
  const inv = scratch + n * PANEL; // PANEL × PANEL: L11⁻¹
  for (let k0 = 0; k0 < n; k0 += PANEL) {
    const k1 = Math.min(n, k0 + PANEL);
    const nb = k1 - k0;
    const diag = off + k0 * n + k0;
    const bad = blockCholesky(mem, diag, n, nb);
    if (bad >= 0) return k0 + bad;
    const m = n - k1;
    if (m === 0) break;
    // L21 = A21·L11⁻ᵀ: copy A21 out (C must not alias A), zero it, C −= copy·(−L11⁻ᵀ)
    blockLowerInverse(mem, diag, n, nb, inv);
    const a21 = off + k1 * n + k0;
    for (let i = 0; i < m; i++) {
      const src = a21 + i * n;
      mem.copyWithin(panelCopy + i * nb, src, src + nb);
      mem.fill(0, src, src + nb);
    }
    ws.gemmSub(
      a21,
      n,
      m,
      nb,
      nb,
      { data: mem, off: panelCopy, rs: nb, cs: 1 },
      { data: mem, off: inv, rs: 1, cs: nb, neg: true }, // B[p, j] = −L11⁻¹[j, p]
    );
    // A22 −= L21·L21ᵀ on the lower triangle
    ws.gemmSub(
      off + k1 * n + k1,
      n,
      m,
      m,
      nb,
      { data: mem, off: a21, rs: n, cs: 1 },
      { data: mem, off: a21, rs: 1, cs: n },
      { lowerC: true },
    );
  }
  for (let i = 0; i < n; i++) mem.fill(0, off + i * n + i + 1, off + (i + 1) * n);
  return -1;
}

/**
 * In place: L (lower, strict upper zero) → X = L⁻¹, by block rows of PANEL:
 *   X_IJ = −L_II⁻¹ · Σ_{J≤K<I} L_IK·X_KJ  (J < I),   X_II = L_II⁻¹.
 * The sum for one block row is a single gemmSub against the already-inverted rows above, skipping
 * their zero upper part; L_II⁻¹ is applied by a second, PANEL-deep gemmSub.
 */
export function lowerInverseBlocked(ws: F64Workspace, off: number, n: number, scratch: number): void {
  const mem = ws.mem;
  const sum = scratch; // PANEL × n: −Σ_K L_IK·X_K,0:I0 (leading dimension n)
  const inv = scratch + n * PANEL;
  for (let i0 = 0; i0 < n; i0 += PANEL) {
    const i1 = Math.min(n, i0 + PANEL);
    const nb = i1 - i0;
    const row = off + i0 * n; // block row I
    blockLowerInverse(mem, row + i0, n, nb, inv);
    if (i0 > 0) {
      for (let i = 0; i < nb; i++) mem.fill(0, sum + i * n, sum + i * n + i0);
      ws.gemmSub(
        sum,
        n,
        nb,
        i0,
        i0,
        { data: mem, off: row, rs: n, cs: 1 },
        { data: mem, off, rs: n, cs: 1 },
        { lowerB: true },
      );
      for (let i = 0; i < nb; i++) mem.fill(0, row + i * n, row + i * n + i0);
      ws.gemmSub(
        row,
        n,
        nb,
        i0,
        nb,
        { data: mem, off: inv, rs: nb, cs: 1, neg: true },
        { data: mem, off: sum, rs: n, cs: 1 },
      );
    }
    for (let i = 0; i < nb; i++) mem.set(mem.subarray(inv + i * nb, inv + (i + 1) * nb), row + i * n + i0);
  }
}

/**
 * The upper-triangular U with (H)⁻¹ = Uᵀ·U — the same factor as linalg.ts' upperCholeskyOfInverse —
 * in the workspace: with J the reversal, J·H·J is the element-reversed array, its lower Cholesky L',
 * and U = J·L'⁻¹·J the element-reversed inverse. Writes U at mem[off]. `h` may be a view of that same
 * region (it is copied reversed in place first). Returns -1 or the failing pivot index in H's order.
 */
export function upperCholeskyOfInverseInto(
  ws: F64Workspace,
  off: number,
  h: Float64Array,
  n: number,
  scratch: number,
): number {
  const a = ws.view(off, n * n);
  if (h !== a) a.set(h);
  a.reverse();
  return upperCholeskyOfInverseFromReversed(ws, off, n, scratch);
}

/**
 * The same when mem[off] already holds J·H·J (H with rows and columns in reverse order — GPTQ's setup
 * writes it that way directly while permuting): saves a copy and a reversal.
 */
export function upperCholeskyOfInverseFromReversed(
  ws: F64Workspace,
  off: number,
  n: number,
  scratch: number,
): number {
  const bad = choleskyLowerBlocked(ws, off, n, scratch);
  if (bad >= 0) return n - 1 - bad;
  lowerInverseBlocked(ws, off, n, scratch);
  ws.view(off, n * n).reverse();
  return -1;
}

/** Convenience form with its own workspace: U (a copy) or the failing pivot. */
export function upperCholeskyOfInverseBlocked(
  h: Float64Array,
  n: number,
  opts: { wasm?: boolean } = {},
): { u: Float64Array } | { failedAt: number } {
  const ws = new F64Workspace(n * n + blockedScratchDoubles(n), n, opts);
  const off = ws.alloc(n * n);
  const scratch = ws.alloc(blockedScratchDoubles(n));
  const bad = upperCholeskyOfInverseInto(ws, off, h, n, scratch);
  if (bad >= 0) return { failedAt: bad };
  return { u: ws.view(off, n * n).slice() };
}
