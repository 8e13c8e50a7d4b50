// Q4_K: super-blocks of 256 weights = 8 sub-blocks of 32 (144 bytes, 4.5 bits/weight):
//   f16 d, f16 dmin, 12 bytes of 6-bit scales/mins (kscales.ts), 128 bytes of 4-bit codes.
// Weight i of sub-block j: x ≈ d·scale_j·q − dmin·min_j. Codes: 64-weight chunk c uses bytes
// 32c..32c+31; sub-block 2c in the low nibbles, sub-block 2c+1 in the high nibbles.
import * as fp32Mod from './fp32.js';
import * as halfMod from './half.js';
import * as kscalesMod from './kscales.js';
import * as searchMod from './search.js';

// Module-local bindings: test runners rewrite imports into namespace property reads, which
// the JIT optimises poorly inside hot loops.
const { fmaf, nearestInt } = fp32Mod;
const fr = Math.fround;
const { HALF_TO_F32, toHalf } = halfMod;
const { kMin, kScale, packKScales } = kscalesMod;
const { makeQkx2Quants } = searchMod;

export const Q4_K_BYTES = 144;

export function dequantizeQ4_K(
  src: Uint8Array,
  srcOff: number,
  nBlocks: number,
  out: Float32Array,
  outOff: number,
): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = srcOff + b * Q4_K_BYTES;
    const d = HALF_TO_F32[src[o]! | (src[o + 1]! << 8)]!;
    const dmin = HALF_TO_F32[src[o + 2]! | (src[o + 3]! << 8)]!;
    let y = outOff + b * 256;
    for (let c = 0; c < 4; c++) {
      const q = o + 16 + 32 * c;
      const d1 = fr(d * kScale(src, o + 4, 2 * c));
      const m1 = fr(dmin * kMin(src, o + 4, 2 * c));
      const d2 = fr(d * kScale(src, o + 4, 2 * c + 1));
      const m2 = fr(dmin * kMin(src, o + 4, 2 * c + 1));
      for (let l = 0; l < 32; l++) out[y + l] = d1 * (src[q + l]! & 15) - m1;
      for (let l = 0; l < 32; l++) out[y + 32 + l] = d2 * (src[q + l]! >>> 4) - m2;
      y += 64;
    }
  }
}

/** Scratch for one super-block, reused across calls (quantization allocates nothing per block). */
class KScratch {
  readonly L = new Uint8Array(256);
  readonly Laux = new Uint8Array(32);
  readonly weights = new Float32Array(32);
  readonly scales = new Float32Array(8);
  readonly mins = new Float32Array(8);
  readonly ls = new Uint8Array(8);
  readonly lm = new Uint8Array(8);
}
const scratch = new KScratch();

/**
 * Shared by Q4_K (nmax 15) and Q5_K (nmax 31): per-sub-block search, 6-bit scale/min quantization
 * against the super-block maxima, then requantization of every code with the stored scales.
 * Writes d, dmin and the scale bytes at dst[o..o+16) and leaves the codes in s.L.
 */
export function quantizeKSuperBlock(
  x: Float32Array,
  xo: number,
  dst: Uint8Array,
  o: number,
  nmax: number,
  rmin: number,
  nstep: number,
  fused: boolean,
): Uint8Array {
  const s = scratch;
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < 8; j++) {
    const xj = xo + 32 * j;
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) {
      const v = x[xj + l]!;
      sumX2 = fused ? fmaf(v, v, sumX2) : fr(sumX2 + fr(v * v));
    }
    const avX = fr(Math.sqrt(fr(sumX2 / 32)));
    for (let l = 0; l < 32; l++) s.weights[l] = fr(avX + Math.abs(x[xj + l]!));
    const scale = makeQkx2Quants(
      32,
      nmax,
      x,
      xj,
      s.weights,
      s.L,
      32 * j,
      s.mins,
      j,
      s.Laux,
      rmin,
      fr(0.1),
      nstep,
      fused,
    );
    s.scales[j] = scale;
    if (scale > maxScale) maxScale = scale;
    if (s.mins[j]! > maxMin) maxMin = s.mins[j]!;
  }
  const invScale = maxScale > 0 ? fr(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? fr(63 / maxMin) : 0;
  for (let j = 0; j < 8; j++) {
    s.ls[j] = Math.min(63, nearestInt(fr(invScale * s.scales[j]!)) & 0xff);
    s.lm[j] = Math.min(63, nearestInt(fr(invMin * s.mins[j]!)) & 0xff);
  }
  const hd = toHalf(fr(maxScale / 63));
  const hm = toHalf(fr(maxMin / 63));
  dst[o] = hd & 0xff;
  dst[o + 1] = hd >>> 8;
  dst[o + 2] = hm & 0xff;
  dst[o + 3] = hm >>> 8;
  packKScales(dst, o + 4, s.ls, s.lm);
  const dF = HALF_TO_F32[hd]!;
  const mF = HALF_TO_F32[hm]!;
  for (let j = 0; j < 8; j++) {
    const d = fr(dF * kScale(dst, o + 4, j));
    if (d === 0) continue; // keeps the search's codes, as llama.cpp does
    const dm = fr(mF * kMin(dst, o + 4, j));
    for (let i = 0; i < 32; i++) {
      const l = nearestInt(fr(fr(x[xo + 32 * j + i]! + dm) / d));
      s.L[32 * j + i] = Math.max(0, Math.min(nmax, l));
    }
  }
  return s.L;
}

export function quantizeQ4_K(
  x: Float32Array,
  xOff: number,
  nBlocks: number,
  dst: Uint8Array,
  dstOff: number,
  fused = false,
): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = dstOff + b * Q4_K_BYTES;
    const L = quantizeKSuperBlock(x, xOff + 256 * b, dst, o, 15, -1, 20, fused);
    for (let c = 0; c < 4; c++) {
      const q = o + 16 + 32 * c;
      for (let l = 0; l < 32; l++) dst[q + l] = L[64 * c + l]! | (L[64 * c + 32 + l]! << 4);
    }
  }
}
