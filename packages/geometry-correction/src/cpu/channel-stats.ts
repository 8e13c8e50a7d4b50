// Per-channel sufficient statistics of (y_q, e = y_fp − y_q) over a set of rows. The error left by
// a per-channel affine correction e ≈ a·y_q + b is a quadratic in (a, b) whose coefficients are
// exactly these sums, so Q2's predictors train and are scored without revisiting the tokens.

import type { RowRanges } from './ridge.js';

export interface ChannelStats {
  d: number;
  n: number;
  sq: Float64Array;
  sqq: Float64Array;
  se: Float64Array;
  sqe: Float64Array;
  see: Float64Array;
}

export function channelStats(yFp: Float32Array, yQ: Float32Array, d: number, rows: RowRanges): ChannelStats {
  const st: ChannelStats = {
    d,
    n: 0,
    sq: new Float64Array(d),
    sqq: new Float64Array(d),
    se: new Float64Array(d),
    sqe: new Float64Array(d),
    see: new Float64Array(d),
  };
  for (const [r0, r1] of rows) {
    for (let r = r0; r < r1; r++) {
      for (let j = 0; j < d; j++) {
        const q = yQ[r * d + j]!;
        const e = yFp[r * d + j]! - q;
        st.sq[j]! += q;
        st.sqq[j]! += q * q;
        st.se[j]! += e;
        st.sqe[j]! += q * e;
        st.see[j]! += e * e;
      }
    }
    st.n += r1 - r0;
  }
  return st;
}

/** Σ_t (e_tj − a·q_tj − b)² from the sums. */
export function affineSse(st: ChannelStats, j: number, a: number, b: number): number {
  return (
    st.see[j]! -
    2 * a * st.sqe[j]! -
    2 * b * st.se[j]! +
    a * a * st.sqq[j]! +
    2 * a * b * st.sq[j]! +
    b * b * st.n
  );
}

/** ‖E‖² over the rows (no correction). */
export function totalSse(st: ChannelStats): number {
  let s = 0;
  for (let j = 0; j < st.d; j++) s += st.see[j]!;
  return s;
}

/** Per-channel least-squares (a, b) on these rows (tiny ridge 1e-12·scale for constant channels). */
export function oracleAffine(st: ChannelStats): { a: Float64Array; b: Float64Array } {
  const a = new Float64Array(st.d);
  const b = new Float64Array(st.d);
  for (let j = 0; j < st.d; j++) {
    const sqq = st.sqq[j]! * (1 + 1e-12) + 1e-300;
    const det = sqq * st.n - st.sq[j]! * st.sq[j]!;
    if (det <= 1e-12 * sqq * st.n) {
      b[j] = st.se[j]! / st.n;
      continue;
    }
    a[j] = (st.sqe[j]! * st.n - st.sq[j]! * st.se[j]!) / det;
    b[j] = (sqq * st.se[j]! - st.sq[j]! * st.sqe[j]!) / det;
  }
  return { a, b };
}
