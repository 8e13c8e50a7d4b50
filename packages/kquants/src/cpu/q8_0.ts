// Q8_0: blocks of 32 weights = f16 scale d + 32 int8 codes (34 bytes, 8.5 bits/weight).
// x ≈ d·q with d = amax/127 (llama.cpp quantize_row_q8_0_ref).
import * as fp32Mod from './fp32.js';
import * as halfMod from './half.js';

// Module-local bindings: test runners rewrite imports into namespace property reads, which
// the JIT optimises poorly inside hot loops.
const { roundAway } = fp32Mod;
const fr = Math.fround;
const { HALF_TO_F32, toHalf } = halfMod;

export const Q8_0_BLOCK = 32;
export const Q8_0_BYTES = 34;

export function dequantizeQ8_0(
  src: Uint8Array,
  srcOff: number,
  nBlocks: number,
  out: Float32Array,
  outOff: number,
): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = srcOff + b * Q8_0_BYTES;
    const d = HALF_TO_F32[src[o]! | (src[o + 1]! << 8)]!;
    const y = outOff + b * Q8_0_BLOCK;
    for (let j = 0; j < Q8_0_BLOCK; j++) out[y + j] = d * ((src[o + 2 + j]! << 24) >> 24);
  }
}

export function quantizeQ8_0(
  x: Float32Array,
  xOff: number,
  nBlocks: number,
  dst: Uint8Array,
  dstOff: number,
): void {
  for (let b = 0; b < nBlocks; b++) {
    const xi = xOff + b * Q8_0_BLOCK;
    let amax = 0;
    for (let j = 0; j < Q8_0_BLOCK; j++) {
      const a = Math.abs(x[xi + j]!);
      if (a > amax) amax = a;
    }
    const d = fr(amax / 127);
    const id = d !== 0 ? fr(1 / d) : 0;
    const h = toHalf(d);
    const o = dstOff + b * Q8_0_BYTES;
    dst[o] = h & 0xff;
    dst[o + 1] = h >>> 8;
    // The codes use the float32 d (as llama.cpp does), not the f16 it stores.
    for (let j = 0; j < Q8_0_BLOCK; j++) dst[o + 2 + j] = roundAway(fr(x[xi + j]! * id)) & 0xff;
  }
}
