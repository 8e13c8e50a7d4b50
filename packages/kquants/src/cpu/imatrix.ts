// Importance-matrix quantization: llama.cpp's quantize_row_*_impl paths, used by llama-quantize when
// it is given an imatrix (per-input-column importance, e.g. the mean of x² over calibration tokens).
// Same float32 step-by-step evaluation as the reference paths; no llama.cpp-written file with an
// imatrix ships with nq, so these are checked by their properties, not byte for byte.
import { NqInputError } from '@nq/core';
import * as fp32Mod from './fp32.js';
import * as halfMod from './half.js';
import * as kscalesMod from './kscales.js';
import * as searchMod from './search.js';

// Module-local bindings (see q4_k.ts).
const fr = Math.fround;
const { nearestInt } = fp32Mod;
const { HALF_TO_F32, toHalf } = halfMod;
const { kMin, kScale, packKScales } = kscalesMod;
const { makeQkx2Quants, makeQxQuants } = searchMod;

const GROUP_MAX_EPS = fr(1e-15);

/**
 * make_qp_quants: non-negative codes 0..nmax for the (positive) sub-block scales or mins of a
 * super-block, weighted by qw: tries 9 grids, then up to 5 rounds of coordinate descent on the
 * codes. Writes L[0..n) and returns the super-block scale.
 */
export function makeQpQuants(
  n: number,
  nmax: number,
  x: Float32Array,
  L: Uint8Array,
  qw: Float32Array,
): number {
  let max = 0;
  for (let i = 0; i < n; i++) max = Math.max(max, x[i]!);
  if (max < GROUP_MAX_EPS) {
    L.fill(0, 0, n);
    return 0;
  }
  let iscale = fr(nmax / max);
  for (let i = 0; i < n; i++) L[i] = nearestInt(fr(iscale * x[i]!));
  const scale = fr(1 / iscale);
  let bestMse = 0;
  for (let i = 0; i < n; i++) {
    const diff = fr(x[i]! - fr(scale * L[i]!));
    bestMse = fr(bestMse + fr(fr(qw[i]! * diff) * diff));
  }
  for (let is = -4; is <= 4; is++) {
    if (is === 0) continue;
    const iscaleIs = fr(fr(fr(fr(0.1) * is) + nmax) / max);
    const scaleIs = fr(1 / iscaleIs);
    let mse = 0;
    for (let i = 0; i < n; i++) {
      const l = Math.min(nmax, nearestInt(fr(iscaleIs * x[i]!)));
      const diff = fr(x[i]! - fr(scaleIs * l));
      mse = fr(mse + fr(fr(qw[i]! * diff) * diff));
    }
    if (mse < bestMse) {
      bestMse = mse;
      iscale = iscaleIs;
    }
  }
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const l = Math.min(nmax, nearestInt(fr(iscale * x[i]!)));
    L[i] = l;
    const w = qw[i]!;
    sumlx = fr(sumlx + fr(fr(w * x[i]!) * l));
    suml2 = fr(suml2 + fr(fr(w * l) * l));
  }
  for (let itry = 0; itry < 5; itry++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const w = qw[i]!;
      const xi = x[i]!;
      const li = L[i]!;
      let slx = fr(sumlx - fr(fr(w * xi) * li));
      let sl2 = fr(suml2 - fr(fr(w * li) * li));
      if (slx > 0 && sl2 > 0) {
        const nl = Math.min(nmax, nearestInt(fr(fr(xi * sl2) / slx)));
        if (nl !== li) {
          slx = fr(slx + fr(fr(w * xi) * nl));
          sl2 = fr(sl2 + fr(fr(w * nl) * nl));
          if (fr(fr(slx * slx) * suml2) > fr(fr(sumlx * sumlx) * sl2)) {
            L[i] = nl;
            sumlx = slx;
            suml2 = sl2;
            changed++;
          }
        }
      }
    }
    if (!changed) break;
  }
  return suml2 > 0 ? fr(sumlx / suml2) : 0;
}

const L = new Uint8Array(256);
const Laux = new Uint8Array(32);
const weights = new Float32Array(32);
const sw = new Float32Array(16);
const scales = new Float32Array(16);
const mins = new Float32Array(16);
const Ls = new Uint8Array(16);
const Lm = new Uint8Array(16);
const qwBlock = new Float32Array(256);

/** Q4_K / Q5_K super-block with importance weights qw[qo..qo+256) (quantize_row_q4_K_impl / q5_K). */
function kSuperBlockImatrix(
  x: Float32Array,
  xo: number,
  qw: Float32Array,
  qo: number,
  dst: Uint8Array,
  o: number,
  nmax: number,
): Uint8Array {
  let sumX2 = 0;
  for (let l = 0; l < 256; l++) sumX2 = fr(sumX2 + fr(x[xo + l]! * x[xo + l]!));
  const sigma2 = fr(fr(2 * sumX2) / 256);
  for (let j = 0; j < 8; j++) {
    let sumw = 0;
    for (let l = 0; l < 32; l++) {
      const v = x[xo + 32 * j + l]!;
      weights[l] = fr(qw[qo + 32 * j + l]! * fr(Math.sqrt(fr(sigma2 + fr(v * v)))));
      sumw = fr(sumw + weights[l]!);
    }
    sw[j] = sumw;
    // make_qkx3_quants with explicit weights is make_qkx2_quants (the max ≤ min guard coincides).
    scales[j] = makeQkx2Quants(
      32,
      nmax,
      x,
      xo + 32 * j,
      weights,
      L,
      32 * j,
      mins,
      j,
      Laux,
      fr(-0.9),
      fr(0.05),
      36,
      false,
    );
  }
  const dBlock = makeQpQuants(8, 63, scales, Ls, sw);
  const mBlock = makeQpQuants(8, 63, mins, Lm, sw);
  for (let j = 0; j < 8; j++) {
    Ls[j] = Math.min(63, Ls[j]!);
    Lm[j] = Math.min(63, Lm[j]!);
  }
  packKScales(dst, o + 4, Ls, Lm);
  const hd = toHalf(dBlock);
  const hm = toHalf(mBlock);
  dst[o] = hd & 0xff;
  dst[o + 1] = hd >>> 8;
  dst[o + 2] = hm & 0xff;
  dst[o + 3] = hm >>> 8;
  const dF = HALF_TO_F32[hd]!;
  const mF = HALF_TO_F32[hm]!;
  for (let j = 0; j < 8; j++) {
    const d = fr(dF * kScale(dst, o + 4, j));
    if (d === 0) continue;
    const dm = fr(mF * kMin(dst, o + 4, j));
    for (let i = 0; i < 32; i++) {
      const l = nearestInt(fr(fr(x[xo + 32 * j + i]! + dm) / d));
      L[32 * j + i] = Math.max(0, Math.min(nmax, l));
    }
  }
  return L;
}

function q4kRow(x: Float32Array, xo: number, n: number, qw: Float32Array, dst: Uint8Array, o: number): void {
  for (let b = 0; b < n / 256; b++) {
    const ob = o + 144 * b;
    const Lb = kSuperBlockImatrix(x, xo + 256 * b, qw, 256 * b, dst, ob, 15);
    for (let c = 0; c < 4; c++)
      for (let l = 0; l < 32; l++) dst[ob + 16 + 32 * c + l] = Lb[64 * c + l]! | (Lb[64 * c + 32 + l]! << 4);
  }
}

function q5kRow(x: Float32Array, xo: number, n: number, qw: Float32Array, dst: Uint8Array, o: number): void {
  for (let b = 0; b < n / 256; b++) {
    const ob = o + 176 * b;
    const Lb = kSuperBlockImatrix(x, xo + 256 * b, qw, 256 * b, dst, ob, 31);
    dst.fill(0, ob + 16, ob + 48);
    for (let c = 0; c < 4; c++) {
      for (let l = 0; l < 32; l++) {
        const l1 = Lb[64 * c + l]!;
        const l2 = Lb[64 * c + 32 + l]!;
        dst[ob + 48 + 32 * c + l] = (l1 & 15) | ((l2 & 15) << 4);
        dst[ob + 16 + l] |= ((l1 >>> 4) << (2 * c)) | ((l2 >>> 4) << (2 * c + 1));
      }
    }
  }
}

function q6kRow(x: Float32Array, xo: number, n: number, qw: Float32Array, dst: Uint8Array, o: number): void {
  for (let b = 0; b < n / 256; b++) {
    const xb = xo + 256 * b;
    const ob = o + 210 * b;
    let maxScale = 0;
    let maxAbs = 0;
    for (let ib = 0; ib < 16; ib++) {
      // quantize_row_q6_K_impl passes the imatrix itself as the weights of make_qx_quants.
      const s = makeQxQuants(16, 32, x, xb + 16 * ib, L, 16 * ib, false, qw, 256 * b + 16 * ib);
      scales[ib] = s;
      if (Math.abs(s) > maxAbs) {
        maxAbs = Math.abs(s);
        maxScale = s;
      }
    }
    if (maxAbs < GROUP_MAX_EPS) {
      dst.fill(0, ob, ob + 210);
      continue;
    }
    const iscale = fr(-128 / maxScale);
    const hd = toHalf(fr(1 / iscale));
    dst[ob + 208] = hd & 0xff;
    dst[ob + 209] = hd >>> 8;
    const dF = HALF_TO_F32[hd]!;
    for (let ib = 0; ib < 16; ib++) {
      const sc = Math.min(127, nearestInt(fr(iscale * scales[ib]!)));
      dst[ob + 192 + ib] = sc & 0xff;
      const d = fr(dF * sc);
      if (d === 0) continue;
      for (let i = 0; i < 16; i++)
        L[16 * ib + i] = Math.max(-32, Math.min(31, nearestInt(fr(x[xb + 16 * ib + i]! / d)))) + 32;
    }
    for (let h = 0; h < 2; h++) {
      for (let l = 0; l < 32; l++) {
        const a = L[128 * h + l]!;
        const c = L[128 * h + l + 32]!;
        const e = L[128 * h + l + 64]!;
        const g = L[128 * h + l + 96]!;
        dst[ob + 64 * h + l] = (a & 15) | ((e & 15) << 4);
        dst[ob + 64 * h + l + 32] = (c & 15) | ((g & 15) << 4);
        dst[ob + 128 + 32 * h + l] = (a >>> 4) | ((c >>> 4) << 2) | ((e >>> 4) << 4) | ((g >>> 4) << 6);
      }
    }
  }
}

/** Q4_0 / Q5_0 (symmetric, nmax 8 / 16) and Q4_1 / Q5_1 (with min, nmax 15 / 31) rows. */
function legacyRow(
  type: 'Q4_0' | 'Q4_1' | 'Q5_0' | 'Q5_1',
  x: Float32Array,
  xo: number,
  n: number,
  qw: Float32Array,
  dst: Uint8Array,
  o: number,
): void {
  let sumX2 = 0;
  for (let j = 0; j < n; j++) sumX2 = fr(sumX2 + fr(x[xo + j]! * x[xo + j]!));
  const sigma2 = fr(sumX2 / n);
  const withMin = type.endsWith('_1');
  const five = type.startsWith('Q5');
  const size = { Q4_0: 18, Q4_1: 20, Q5_0: 22, Q5_1: 24 }[type];
  for (let ib = 0; ib < n / 32; ib++) {
    const xb = xo + 32 * ib;
    for (let j = 0; j < 32; j++) {
      const v = x[xb + j]!;
      qwBlock[j] = fr(qw[32 * ib + j]! * fr(Math.sqrt(fr(sigma2 + fr(v * v)))));
    }
    const ob = o + size * ib;
    let d: number;
    let hm = 0;
    if (withMin) {
      d = makeQkx2Quants(
        32,
        five ? 31 : 15,
        x,
        xb,
        qwBlock,
        L,
        0,
        mins,
        0,
        Laux,
        fr(-0.9),
        fr(0.05),
        36,
        false,
      );
      hm = toHalf(-mins[0]!);
    } else {
      d = makeQxQuants(32, five ? 16 : 8, x, xb, L, 0, false, qwBlock, 0);
    }
    const hd = toHalf(d);
    dst[ob] = hd & 0xff;
    dst[ob + 1] = hd >>> 8;
    let q = ob + 2;
    if (withMin) {
      dst[ob + 2] = hm & 0xff;
      dst[ob + 3] = hm >>> 8;
      q = ob + 4;
    }
    let qh = 0;
    const qs = five ? q + 4 : q;
    for (let j = 0; j < 16; j++) {
      const a = L[j]!;
      const b = L[j + 16]!;
      dst[qs + j] = (a & 15) | ((b & 15) << 4);
      qh |= ((a >>> 4) << j) | ((b >>> 4) << (j + 16));
    }
    if (five) {
      const u = qh >>> 0;
      dst[q] = u & 0xff;
      dst[q + 1] = (u >>> 8) & 0xff;
      dst[q + 2] = (u >>> 16) & 0xff;
      dst[q + 3] = u >>> 24;
    }
  }
}

const ROW: Record<
  string,
  (x: Float32Array, xo: number, n: number, qw: Float32Array, dst: Uint8Array, o: number) => void
> = {
  Q4_K: q4kRow,
  Q5_K: q5kRow,
  Q6_K: q6kRow,
  Q4_0: (x, xo, n, qw, d, o) => legacyRow('Q4_0', x, xo, n, qw, d, o),
  Q4_1: (x, xo, n, qw, d, o) => legacyRow('Q4_1', x, xo, n, qw, d, o),
  Q5_0: (x, xo, n, qw, d, o) => legacyRow('Q5_0', x, xo, n, qw, d, o),
  Q5_1: (x, xo, n, qw, d, o) => legacyRow('Q5_1', x, xo, n, qw, d, o),
};

/** Formats whose quantizer uses an importance matrix (Q8_0 ignores it, as in llama.cpp). */
export const IMATRIX_FORMATS = Object.keys(ROW);

/**
 * Quantizes rows of length imatrix.length (x is rows × imatrix.length, row-major) with per-column
 * importance `imatrix` into dst (rowBytes per row, contiguous).
 */
export function quantizeRowsImatrix(
  type: string,
  x: Float32Array,
  imatrix: Float32Array,
  dst: Uint8Array,
  dstOff: number,
  rowBytes: number,
): void {
  const row = ROW[type];
  if (!row)
    throw new NqInputError(
      'type',
      `${type} has no importance-matrix quantizer`,
      `Use one of ${IMATRIX_FORMATS.join(', ')} (Q8_0 ignores the imatrix)`,
    );
  const n = imatrix.length;
  for (let i = 0; i < n; i++) {
    const v = imatrix[i]!;
    if (!Number.isFinite(v) || v < 0)
      throw new NqInputError(
        'imatrix',
        `element ${i} is ${v}`,
        'Importances must be finite and ≥ 0 (e.g. mean x² per input column)',
      );
  }
  for (let r = 0; r < x.length / n; r++) row(x, r * n, n, imatrix, dst, dstOff + r * rowBytes);
}
