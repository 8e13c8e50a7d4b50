// Q5_0 and Q5_1: blocks of 32 weights, 5-bit codes: the low 4 bits as in Q4_0/Q4_1 (byte j holds
// weights j and j+16), the fifth bits in a little-endian u32 qh (bit j for weight j).
//   Q5_0: f16 d, qh, 16 bytes (22 bytes, 5.5 bpw), x ≈ d·(q − 16), d = (signed max by magnitude)/−16.
//   Q5_1: f16 d, f16 m, qh, 16 bytes (24 bytes, 6 bpw), x ≈ d·q + m, d = (max − min)/31.
// llama.cpp uses them where a row is not a multiple of 256 (Q4_K → Q5_0, Q5_K → Q5_1).
import * as halfMod from './half.js';

// Module-local bindings: test runners rewrite imports into namespace property reads, which
// the JIT optimises poorly inside hot loops.
const fr = Math.fround;
const { HALF_TO_F32, toHalf } = halfMod;

export const Q5_0_BYTES = 22;
export const Q5_1_BYTES = 24;

function readQh(src: Uint8Array, o: number): number {
  return (src[o]! | (src[o + 1]! << 8) | (src[o + 2]! << 16) | (src[o + 3]! << 24)) >>> 0;
}

function writeQh(dst: Uint8Array, o: number, qh: number): void {
  dst[o] = qh & 0xff;
  dst[o + 1] = (qh >>> 8) & 0xff;
  dst[o + 2] = (qh >>> 16) & 0xff;
  dst[o + 3] = qh >>> 24;
}

export function dequantizeQ5_0(
  src: Uint8Array,
  srcOff: number,
  nBlocks: number,
  out: Float32Array,
  outOff: number,
): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = srcOff + b * Q5_0_BYTES;
    const d = HALF_TO_F32[src[o]! | (src[o + 1]! << 8)]!;
    const qh = readQh(src, o + 2);
    const y = outOff + b * 32;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 6 + j]!;
      out[y + j] = (((q & 15) | (((qh >>> j) & 1) << 4)) - 16) * d;
      out[y + j + 16] = (((q >>> 4) | (((qh >>> (j + 16)) & 1) << 4)) - 16) * d;
    }
  }
}

export function quantizeQ5_0(
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
    const d = fr(max / -16);
    const id = d !== 0 ? fr(1 / d) : 0;
    const h = toHalf(d);
    const o = dstOff + b * Q5_0_BYTES;
    dst[o] = h & 0xff;
    dst[o + 1] = h >>> 8;
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(31, Math.trunc(fr(fr(x[xi + j]! * id) + 16.5)));
      const q1 = Math.min(31, Math.trunc(fr(fr(x[xi + j + 16]! * id) + 16.5)));
      dst[o + 6 + j] = (q0 & 15) | ((q1 & 15) << 4);
      qh |= ((q0 >>> 4) << j) | ((q1 >>> 4) << (j + 16));
    }
    writeQh(dst, o + 2, qh >>> 0);
  }
}

export function dequantizeQ5_1(
  src: Uint8Array,
  srcOff: number,
  nBlocks: number,
  out: Float32Array,
  outOff: number,
): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = srcOff + b * Q5_1_BYTES;
    const d = HALF_TO_F32[src[o]! | (src[o + 1]! << 8)]!;
    const m = HALF_TO_F32[src[o + 2]! | (src[o + 3]! << 8)]!;
    const qh = readQh(src, o + 4);
    const y = outOff + b * 32;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 8 + j]!;
      out[y + j] = ((q & 15) | (((qh >>> j) & 1) << 4)) * d + m;
      out[y + j + 16] = ((q >>> 4) | (((qh >>> (j + 16)) & 1) << 4)) * d + m;
    }
  }
}

export function quantizeQ5_1(
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
    const d = fr(fr(max - min) / 31);
    const id = d !== 0 ? fr(1 / d) : 0;
    const hd = toHalf(d);
    const hm = toHalf(min);
    const o = dstOff + b * Q5_1_BYTES;
    dst[o] = hd & 0xff;
    dst[o + 1] = hd >>> 8;
    dst[o + 2] = hm & 0xff;
    dst[o + 3] = hm >>> 8;
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      // C: (uint8_t)(x0 + 0.5f), no clamp (x0 ≤ 31 by construction).
      const q0 = Math.trunc(fr(fr(fr(x[xi + j]! - min) * id) + 0.5)) & 31;
      const q1 = Math.trunc(fr(fr(fr(x[xi + j + 16]! - min) * id) + 0.5)) & 31;
      dst[o + 8 + j] = (q0 & 15) | ((q1 & 15) << 4);
      qh |= ((q0 >>> 4) << j) | ((q1 >>> 4) << (j + 16));
    }
    writeQh(dst, o + 4, qh >>> 0);
  }
}
