// Q5_K: super-blocks of 256 weights (176 bytes, 5.5 bits/weight): f16 d, f16 dmin, 12 bytes of 6-bit
// scales/mins (as Q4_K), 32 bytes qh of fifth bits, 128 bytes of low nibbles (laid out as Q4_K).
// The fifth bit of weight l of sub-block j is bit j of qh[l].  x ≈ d·scale_j·q − dmin·min_j.
import * as halfMod from './half.js';
import * as kscalesMod from './kscales.js';
import * as q4kMod from './q4_k.js';

// Module-local bindings: test runners rewrite imports into namespace property reads, which
// the JIT optimises poorly inside hot loops.
const fr = Math.fround;
const { HALF_TO_F32 } = halfMod;
const { kMin, kScale } = kscalesMod;
const { quantizeKSuperBlock } = q4kMod;

export const Q5_K_BYTES = 176;

export function dequantizeQ5_K(
  src: Uint8Array,
  srcOff: number,
  nBlocks: number,
  out: Float32Array,
  outOff: number,
): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = srcOff + b * Q5_K_BYTES;
    const d = HALF_TO_F32[src[o]! | (src[o + 1]! << 8)]!;
    const dmin = HALF_TO_F32[src[o + 2]! | (src[o + 3]! << 8)]!;
    const qh = o + 16;
    let y = outOff + b * 256;
    for (let c = 0; c < 4; c++) {
      const ql = o + 48 + 32 * c;
      const j1 = 2 * c;
      const j2 = 2 * c + 1;
      const d1 = fr(d * kScale(src, o + 4, j1));
      const m1 = fr(dmin * kMin(src, o + 4, j1));
      const d2 = fr(d * kScale(src, o + 4, j2));
      const m2 = fr(dmin * kMin(src, o + 4, j2));
      for (let l = 0; l < 32; l++)
        out[y + l] = d1 * ((src[ql + l]! & 15) | (((src[qh + l]! >>> j1) & 1) << 4)) - m1;
      for (let l = 0; l < 32; l++)
        out[y + 32 + l] = d2 * ((src[ql + l]! >>> 4) | (((src[qh + l]! >>> j2) & 1) << 4)) - m2;
      y += 64;
    }
  }
}

export function quantizeQ5_K(
  x: Float32Array,
  xOff: number,
  nBlocks: number,
  dst: Uint8Array,
  dstOff: number,
  fused = false,
): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = dstOff + b * Q5_K_BYTES;
    const L = quantizeKSuperBlock(x, xOff + 256 * b, dst, o, 31, -0.5, 15, fused);
    const qh = o + 16;
    dst.fill(0, qh, qh + 32);
    for (let c = 0; c < 4; c++) {
      const ql = o + 48 + 32 * c;
      for (let l = 0; l < 32; l++) {
        const l1 = L[64 * c + l]!;
        const l2 = L[64 * c + 32 + l]!;
        dst[ql + l] = (l1 & 15) | ((l2 & 15) << 4);
        dst[qh + l] |= ((l1 >>> 4) << (2 * c)) | ((l2 >>> 4) << (2 * c + 1));
      }
    }
  }
}
