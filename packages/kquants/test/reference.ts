// Straightforward decoders written from the block definitions (ggml-common.h structs), one weight
// at a time, independent of the fast kernels in src/cpu: the tests compare the two bit for bit.
// Each value is computed in float64 from exact parts and rounded once to float32, which is what
// llama.cpp's float32 expressions give (every product of an f16 scale and a small integer is exact).

import { Rng } from '@nq/core';

const fr = Math.fround;

export function halfValue(lo: number, hi: number): number {
  const h = lo | (hi << 8);
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 31;
  const m = h & 1023;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

const int8 = (b: number) => (b >= 128 ? b - 256 : b);

/** 6-bit scale and min of sub-block j of a Q4_K/Q5_K block (12 scale bytes s). */
function scaleMin(s: Uint8Array, j: number): [number, number] {
  if (j < 4) return [s[j]! % 64, s[j + 4]! % 64];
  const sc = (s[j + 4]! % 16) + 16 * Math.floor(s[j - 4]! / 64);
  const mn = Math.floor(s[j + 4]! / 16) + 16 * Math.floor(s[j]! / 64);
  return [sc, mn];
}

/** Decodes one block of `type` (bytes b) into its weights. */
export function refDecodeBlock(type: string, b: Uint8Array): number[] {
  const out: number[] = [];
  switch (type) {
    case 'Q8_0': {
      const d = halfValue(b[0]!, b[1]!);
      for (let i = 0; i < 32; i++) out.push(fr(d * int8(b[2 + i]!)));
      return out;
    }
    case 'Q4_0':
    case 'Q4_1':
    case 'Q5_0':
    case 'Q5_1': {
      const d = halfValue(b[0]!, b[1]!);
      const hasMin = type.endsWith('_1');
      const m = hasMin ? halfValue(b[2]!, b[3]!) : 0;
      const five = type.startsWith('Q5');
      const qhAt = hasMin ? 4 : 2;
      const qsAt = qhAt + (five ? 4 : 0);
      for (let i = 0; i < 32; i++) {
        const byte = b[qsAt + (i % 16)]!;
        let q = i < 16 ? byte % 16 : Math.floor(byte / 16);
        if (five) {
          const word = b[qhAt]! + 256 * b[qhAt + 1]! + 65536 * b[qhAt + 2]! + 16777216 * b[qhAt + 3]!;
          q += 16 * (Math.floor(word / 2 ** i) % 2);
        }
        const offset = hasMin ? 0 : five ? 16 : 8;
        out.push(fr(d * (q - offset) + m));
      }
      return out;
    }
    case 'Q4_K':
    case 'Q5_K': {
      const d = halfValue(b[0]!, b[1]!);
      const dmin = halfValue(b[2]!, b[3]!);
      const s = b.subarray(4, 16);
      const five = type === 'Q5_K';
      const qs = b.subarray(five ? 48 : 16);
      for (let i = 0; i < 256; i++) {
        const j = Math.floor(i / 32);
        const byte = qs[32 * Math.floor(j / 2) + (i % 32)]!;
        let q = j % 2 === 0 ? byte % 16 : Math.floor(byte / 16);
        if (five) q += 16 * (Math.floor(b[16 + (i % 32)]! / 2 ** j) % 2);
        const [sc, mn] = scaleMin(s, j);
        out.push(fr(d * sc * q - dmin * mn));
      }
      return out;
    }
    case 'Q6_K': {
      const d = halfValue(b[208]!, b[209]!);
      for (let i = 0; i < 256; i++) {
        const h = Math.floor(i / 128);
        const k = Math.floor((i % 128) / 32);
        const l = i % 32;
        const lowByte = b[64 * h + l + 32 * (k % 2)]!;
        const low = k < 2 ? lowByte % 16 : Math.floor(lowByte / 16);
        const high = Math.floor(b[128 + 32 * h + l]! / 4 ** k) % 4;
        const sc = int8(b[192 + Math.floor(i / 16)]!);
        out.push(fr(d * sc * (low + 16 * high - 32)));
      }
      return out;
    }
    default:
      throw new Error(`no reference decoder for ${type}`);
  }
}

export const BLOCK: Record<string, [weights: number, bytes: number]> = {
  Q8_0: [32, 2 + 32],
  Q4_0: [32, 2 + 16],
  Q4_1: [32, 2 + 2 + 16],
  Q5_0: [32, 2 + 4 + 16],
  Q5_1: [32, 2 + 2 + 4 + 16],
  Q4_K: [256, 2 + 2 + 12 + 128],
  Q5_K: [256, 2 + 2 + 12 + 32 + 128],
  Q6_K: [256, 128 + 64 + 16 + 2],
};

/** Decodes a whole tensor block by block with refDecodeBlock. */
export function refDecode(type: string, bytes: Uint8Array, n: number): Float32Array {
  const [w, size] = BLOCK[type]!;
  const out = new Float32Array(n);
  for (let blk = 0; blk < n / w; blk++) {
    const vals = refDecodeBlock(type, bytes.subarray(blk * size, (blk + 1) * size));
    for (let i = 0; i < w; i++) out[blk * w + i] = vals[i]!;
  }
  return out;
}

/** Random blocks with finite f16 scales (exponent field < 31) at the format's scale positions. */
export function randomBlocks(type: string, nBlocks: number, seed: number): Uint8Array {
  const [, size] = BLOCK[type]!;
  const rng = new Rng(seed);
  const b = new Uint8Array(size * nBlocks);
  for (let i = 0; i < b.length; i++) b[i] = rng.int(256);
  const halves =
    type === 'Q6_K' ? [208] : type.endsWith('_1') || type === 'Q4_K' || type === 'Q5_K' ? [0, 2] : [0];
  for (let k = 0; k < nBlocks; k++) {
    for (const h of halves) b[k * size + h + 1] = b[k * size + h + 1]! & 0xfb; // exponent ≤ 30, either sign
  }
  return b;
}
