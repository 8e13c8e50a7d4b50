// Q6_K: super-blocks of 256 weights = 16 sub-blocks of 16 (210 bytes, 6.5625 bits/weight):
//   128 bytes ql (low 4 bits), 64 bytes qh (high 2 bits), 16 int8 scales, f16 d.
// x ≈ d·scale_s·(q − 32). Within each 128-weight half h: weight l (0..31) of quarter k (0..3) has
// its low nibble in ql[64h + l + 32·(k&1)] (k < 2: low nibble, else high) and its high bits at
// 2k..2k+1 of qh[32h + l]; its scale is scales[8h + 2k + l/16].
import * as fp32Mod from './fp32.js';
import * as halfMod from './half.js';
import * as searchMod from './search.js';

// Module-local bindings: test runners rewrite imports into namespace property reads, which
// the JIT optimises poorly inside hot loops.
const { nearestInt } = fp32Mod;
const fr = Math.fround;
const { HALF_TO_F32, toHalf } = halfMod;
const { makeQxQuants } = searchMod;

export const Q6_K_BYTES = 210;

export function dequantizeQ6_K(
  src: Uint8Array,
  srcOff: number,
  nBlocks: number,
  out: Float32Array,
  outOff: number,
): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = srcOff + b * Q6_K_BYTES;
    const d = HALF_TO_F32[src[o + 208]! | (src[o + 209]! << 8)]!;
    for (let h = 0; h < 2; h++) {
      const ql = o + 64 * h;
      const qh = o + 128 + 32 * h;
      const sc = o + 192 + 8 * h;
      const y = outOff + b * 256 + 128 * h;
      for (let l = 0; l < 32; l++) {
        const is = l >>> 4;
        const a = src[ql + l]!;
        const c = src[ql + l + 32]!;
        const hb = src[qh + l]!;
        const q1 = ((a & 15) | ((hb & 3) << 4)) - 32;
        const q2 = ((c & 15) | (((hb >>> 2) & 3) << 4)) - 32;
        const q3 = ((a >>> 4) | (((hb >>> 4) & 3) << 4)) - 32;
        const q4 = ((c >>> 4) | (((hb >>> 6) & 3) << 4)) - 32;
        out[y + l] = fr(d * ((src[sc + is]! << 24) >> 24)) * q1;
        out[y + l + 32] = fr(d * ((src[sc + is + 2]! << 24) >> 24)) * q2;
        out[y + l + 64] = fr(d * ((src[sc + is + 4]! << 24) >> 24)) * q3;
        out[y + l + 96] = fr(d * ((src[sc + is + 6]! << 24) >> 24)) * q4;
      }
    }
  }
}

const L = new Uint8Array(256);
const scales = new Float32Array(16);

export function quantizeQ6_K(
  x: Float32Array,
  xOff: number,
  nBlocks: number,
  dst: Uint8Array,
  dstOff: number,
  fused = false,
): void {
  for (let b = 0; b < nBlocks; b++) {
    const xo = xOff + 256 * b;
    const o = dstOff + b * Q6_K_BYTES;
    let maxScale = 0;
    let maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      const scale = makeQxQuants(16, 32, x, xo + 16 * ib, L, 16 * ib, fused);
      scales[ib] = scale;
      if (Math.abs(scale) > maxAbsScale) {
        maxAbsScale = Math.abs(scale);
        maxScale = scale;
      }
    }
    if (maxAbsScale < fr(1e-15)) {
      dst.fill(0, o, o + Q6_K_BYTES);
      continue;
    }
    const iscale = fr(-128 / maxScale);
    const hd = toHalf(fr(1 / iscale));
    dst[o + 208] = hd & 0xff;
    dst[o + 209] = hd >>> 8;
    const dF = HALF_TO_F32[hd]!;
    for (let ib = 0; ib < 16; ib++) {
      const sc = Math.min(127, nearestInt(fr(iscale * scales[ib]!)));
      dst[o + 192 + ib] = sc & 0xff;
      const d = fr(dF * sc);
      if (d === 0) continue;
      for (let i = 0; i < 16; i++) {
        const l = nearestInt(fr(x[xo + 16 * ib + i]! / d));
        L[16 * ib + i] = Math.max(-32, Math.min(31, l)) + 32;
      }
    }
    for (let h = 0; h < 2; h++) {
      const ql = o + 64 * h;
      const qh = o + 128 + 32 * h;
      const j = 128 * h;
      for (let l = 0; l < 32; l++) {
        const a = L[j + l]!;
        const c = L[j + l + 32]!;
        const e = L[j + l + 64]!;
        const g = L[j + l + 96]!;
        dst[ql + l] = (a & 15) | ((e & 15) << 4);
        dst[ql + l + 32] = (c & 15) | ((g & 15) << 4);
        dst[qh + l] = (a >>> 4) | ((c >>> 4) << 2) | ((e >>> 4) << 4) | ((g >>> 4) << 6);
      }
    }
  }
}
