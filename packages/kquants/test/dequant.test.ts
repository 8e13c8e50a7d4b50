import { NqInputError } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { dequantize, dequantizeInto, formatOf } from '../src/index.js';
import { BLOCK, randomBlocks, refDecode } from './reference.js';

describe('dequantization equals the block definition, bit for bit', () => {
  for (const type of Object.keys(BLOCK)) {
    it(type, () => {
      const [w] = BLOCK[type]!;
      const nBlocks = 64;
      const bytes = randomBlocks(type, nBlocks, 11 + w);
      const got = dequantize(type as never, bytes, nBlocks * w);
      const want = refDecode(type, bytes, nBlocks * w);
      for (let i = 0; i < got.length; i++) {
        if (!Object.is(got[i], want[i]))
          expect(`${type}[${i}] = ${got[i]}`).toBe(`${type}[${i}] = ${want[i]}`);
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
