import type { GptqSetup } from './gptq.js';

/**
 * GPTQ's step 5 inside one lazy block, shared by the cpu and webgpu backends (the webgpu backend
 * reads the block back from the GPU, runs this on the host, and sends Err back for its lazy update).
 *
 * The block's columns are held as a panel P (bw × rows, P[i·rows + r] = current W[r, i1 + i]): the
 * column being quantized and every in-block update are then contiguous runs of `rows` doubles instead
 * of one cache line per row (W is rows × cols row-major; at 4096 columns a row is 32 KiB apart).
 */
export interface ColumnLoop {
  codes: Int8Array | Uint8Array;
  /** Ŵ, rows × cols in original column order. */
  out: Float32Array;
  groupIndex: Int32Array;
  /** Errᵀ of the current block: errT[i·rows + r] = (w − q)/U_pp for block column i. */
  errT: Float64Array;
  x: Float64Array;
  q: Float64Array;
  /** Group-fit scratch (rows × groupSize), for groups fitted during the loop. */
  gBlock: Float64Array | null;
}

export function newColumnLoop(st: GptqSetup): ColumnLoop {
  const { rows, cols, run, gs, grouped, staticGroups, B } = st;
  return {
    codes: run.newCodes(),
    out: new Float32Array(rows * cols),
    groupIndex: new Int32Array(cols),
    errT: new Float64Array(B * rows),
    x: new Float64Array(rows),
    q: new Float64Array(rows),
    // per-row / per-tensor (one group of all columns) is fitted once, from a transient array
    gBlock: grouped && !staticGroups ? new Float64Array(rows * gs) : null,
  };
}

/**
 * Quantizes processing-order columns i1..i2 held in panel P; fills L.errT's first (i2 − i1) rows.
 * Group parameters are fitted when a group starts (p mod g = 0, no static groups) from the current
 * weights of its columns: P for columns inside the block; for columns beyond it, Wd minus the pending
 * lazy update Σ_{k<i} Err[:, k]·U[i1+k, col] of this block's already-quantized columns (so results do
 * not depend on the block size). Wd must then hold every earlier block's lazy update (the cpu loop);
 * the webgpu backend only lets groups start at p = 0 or end inside their block, where Wd is not read
 * or still exact.
 */
export function quantizeBlock(st: GptqSetup, L: ColumnLoop, P: Float64Array, i1: number, i2: number): void {
  const { rows, cols, run, gs, staticGroups, perm, U } = st;
  const { codes, out, errT, x, q } = L;
  const bw = i2 - i1;
  for (let i = 0; i < bw; i++) {
    const p = i1 + i;
    const c = perm ? perm[p]! : p;
    let g: number;
    if (staticGroups) g = Math.floor(c / gs);
    else {
      g = Math.floor(p / gs);
      if (p % gs === 0) fitGroupAt(st, L, P, i1, i2, i, g);
    }
    L.groupIndex[c] = g;
    const pi = i * rows;
    x.set(P.subarray(pi, pi + rows));
    run.quantizeColumn(g, x, q, codes, c, cols);
    const d = U[p * cols + p]!;
    for (let r = 0; r < rows; r++) {
      out[r * cols + c] = q[r]!;
      errT[pi + r] = (x[r]! - q[r]!) / d;
    }
    // in-block update, two panel columns per pass over Err's column: P[j] −= Err[:, i]·U[p, i1 + j]
    const up = p * cols + i1;
    let j = i + 1;
    for (; j + 1 < bw; j += 2) {
      const u0 = U[up + j]!;
      const u1 = U[up + j + 1]!;
      const p0 = j * rows;
      const p1 = p0 + rows;
      for (let r = 0; r < rows; r++) {
        const e = errT[pi + r]!;
        P[p0 + r] -= e * u0;
        P[p1 + r] -= e * u1;
      }
    }
    if (j < bw) {
      const u0 = U[up + j]!;
      const p0 = j * rows;
      for (let r = 0; r < rows; r++) P[p0 + r] -= errT[pi + r]! * u0;
    }
  }
}

function fitGroupAt(
  st: GptqSetup,
  L: ColumnLoop,
  P: Float64Array,
  i1: number,
  i2: number,
  i: number,
  g: number,
): void {
  const { rows, cols, run, gs, Wd, U } = st;
  const p = i1 + i;
  const blk = L.gBlock ?? new Float64Array(rows * gs);
  for (let j = 0; j < gs; j++) {
    const col = p + j;
    if (col < i2) {
      const pc = (col - i1) * rows;
      for (let r = 0; r < rows; r++) blk[r * gs + j] = P[pc + r]!;
    } else {
      for (let r = 0; r < rows; r++) {
        let v = Wd[r * cols + col]!;
        for (let k = 0; k < i; k++) v -= L.errT[k * rows + r]! * U[(i1 + k) * cols + col]!;
        blk[r * gs + j] = v;
      }
    }
  }
  run.fitGroup(g, blk, gs);
}
