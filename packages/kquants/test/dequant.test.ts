import { NqInputError } from '@nq/core';
import { Rng } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { dequantize, dequantizeInto, formatOf } from '../src/index.js';
import { BLOCK, refDecode } from './reference.js';

/** Random blocks with finite f16 scales (exponent field < 31) at the format's scale positions. */
function randomBlocks(type: string, nBlocks: number, seed: number): Uint8Array {
  const [, size] = BLOCK[type]!;
  const rng = new Rng(seed);
  const b = new Uint8Array(size * nBlocks);
  for (let i = 0; i < b.length; i++) b[i] = rng.int(256);
  const halves = type === 'Q6_K' ? [208] : type.endsWith('_1') || type === 'Q4_K' || type === 'Q5_K' ? [0, 2] : [0];
  for (let k = 0; k < nBlocks; k++) {
    for (const h of halves) b[k * size + h + 1] = b[k * size + h + 1]! & 0x7b; // exponent ≤ 30
  }
  return b;
}

describe('dequantization equals the block definition, bit for bit', () => {
  for (const type of Object.keys(BLOCK)) {
    it(type, () => {
      const [w] = BLOCK[type]!;
      const nBlocks = 64;
      const bytes = randomBlocks(type, nBlocks, 11 + w);
      const got = dequantize(type as never, bytes, nBlocks * w);
      const want = refDecode(type, bytes, nBlocks * w);
      for (let i = 0; i < got.length; i++) {
        if (!Object.is(got[i], want[i])) expect(`${type}[${i}] = ${got[i]}`).toBe(`${type}[${i}] = ${want[i]}`);
      }
    });
  }

  it('F16 / BF16 / F32 tensors decode little-endian', () => {
    expect(Array.from(dequantize('F16', new Uint8Array([0x00, 0x3c, 0x00, 0xc0]), 2))).toEqual([1, -2]);
    expect(Array.from(dequantize('BF16', new Uint8Array([0x80, 0x3f, 0x40, 0xc0]), 2))).toEqual([1, -3]);
    const f = new Float32Array([1.5, -0.25]);
    // An odd byte offset exercises unaligned input.
    const buf = new Uint8Array(9);
    buf.set(new Uint8Array(f.buffer), 1);
    expect(Array.from(dequantize('F32', buf.subarray(1), 2))).toEqual([1.5, -0.25]);
  });

  it('typed errors for short input, short output and partial blocks', () => {
    expect(() => dequantize('Q4_K', new Uint8Array(100), 256)).toThrow(NqInputError);
    expect(() => dequantize('Q8_0', new Uint8Array(34), 33)).toThrow(/whole number/);
    expect(() => dequantizeInto('Q8_0', new Uint8Array(34), 32, new Float32Array(16))).toThrow(/out/);
    expect(formatOf('Q6_K').typeSize).toBe(210);
  });
});
