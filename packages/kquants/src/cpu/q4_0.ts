// Q4_0 and Q4_1: blocks of 32 weights, 4-bit codes. Byte j holds weight j (low nibble) and weight
// j+16 (high nibble).
//   Q4_0: f16 d + 16 bytes (18 bytes, 4.5 bpw), x ≈ d·(q − 8), d = (signed max by magnitude)/−8.
//   Q4_1: f16 d, f16 m + 16 bytes (20 bytes, 5 bpw), x ≈ d·q + m, d = (max − min)/15, m = min.
import * as halfMod from './half.js';

// Module-local bindings: test runners rewrite imports into namespace property reads, which
// the JIT optimises poorly inside hot loops.
const fr = Math.fround;
const { HALF_TO_F32, toHalf } = halfMod;

export const Q4_0_BYTES = 18;
export const Q4_1_BYTES = 20;

export function dequantizeQ4_0(
  src: Uint8Array,
  srcOff: number,
  nBlocks: number,
  out: Float32Array,
  outOff: number,
): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = srcOff + b * Q4_0_BYTES;
    const d = HALF_TO_F32[src[o]! | (src[o + 1]! << 8)]!;
    const y = outOff + b * 32;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j]!;
      out[y + j] = ((q & 15) - 8) * d;
      out[y + j + 16] = ((q >>> 4) - 8) * d;
    }
  }
}

export function quantizeQ4_0(
  x: Float32Array,
  xOff: number,
  nBlocks: number,
  dst: Uint8Array,
  dstOff: number,
): void {
  for (let b = 0; b < nBlocks; b++) {
    const xi = xOff + b * 32;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = x[xi + j]!;
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = fr(max / -8);
    const id = d !== 0 ? fr(1 / d) : 0;
    const h = toHalf(d);
    const o = dstOff + b * Q4_0_BYTES;
    dst[o] = h & 0xff;
    dst[o + 1] = h >>> 8;
    for (let j = 0; j < 16; j++) {
      // C: MIN(15, (int8_t)(x0 + 8.5f)) — truncation toward zero.
      const q0 = Math.min(15, Math.trunc(fr(fr(x[xi + j]! * id) + 8.5)));
      const q1 = Math.min(15, Math.trunc(fr(fr(x[xi + j + 16]! * id) + 8.5)));
      dst[o + 2 + j] = q0 | (q1 << 4);
    }
  }
}

export function dequantizeQ4_1(
  src: Uint8Array,
  srcOff: number,
  nBlocks: number,
  out: Float32Array,
  outOff: number,
): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = srcOff + b * Q4_1_BYTES;
    const d = HALF_TO_F32[src[o]! | (src[o + 1]! << 8)]!;
    const m = HALF_TO_F32[src[o + 2]! | (src[o + 3]! << 8)]!;
    const y = outOff + b * 32;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 4 + j]!;
      out[y + j] = (q & 15) * d + m;
      out[y + j + 16] = (q >>> 4) * d + m;
    }
  }
}

export function quantizeQ4_1(
  x: Float32Array,
  xOff: number,
  nBlocks: number,
  dst: Uint8Array,
  dstOff: number,
): void {
  for (let b = 0; b < nBlocks; b++) {
    const xi = xOff + b * 32;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < 32; j++) {
      const v = x[xi + j]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const d = fr(fr(max - min) / 15);
    const id = d !== 0 ? fr(1 / d) : 0;
    const hd = toHalf(d);
    const hm = toHalf(min);
    const o = dstOff + b * Q4_1_BYTES;
    dst[o] = hd & 0xff;
    dst[o + 1] = hd >>> 8;
    dst[o + 2] = hm & 0xff;
    dst[o + 3] = hm >>> 8;
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(15, Math.trunc(fr(fr(fr(x[xi + j]! - min) * id) + 0.5)));
      const q1 = Math.min(15, Math.trunc(fr(fr(fr(x[xi + j + 16]! - min) * id) + 0.5)));
      dst[o + 4 + j] = q0 | (q1 << 4);
    }
  }
}
