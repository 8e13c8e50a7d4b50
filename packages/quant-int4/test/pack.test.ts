import { NqInputError, Rng } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { packInt4, unpackInt4 } from '../src/cpu/pack.js';

describe('INT4 packing', () => {
  it("puts element 2i in the low nibble, two's complement for signed", () => {
    expect(Array.from(packInt4(Int8Array.from([1, -1, -8, 7])))).toEqual([0xf1, 0x78]);
    expect(Array.from(packInt4(Uint8Array.from([15, 0, 3])))).toEqual([0x0f, 0x03]);
  });
  it('round-trips every signed and unsigned code, odd and even counts', () => {
    const rng = new Rng(9);
    for (const n of [0, 1, 2, 7, 1001]) {
      const s = Int8Array.from({ length: n }, () => rng.int(16) - 8);
      const u = Uint8Array.from({ length: n }, () => rng.int(16));
      expect(Array.from(unpackInt4(packInt4(s), n, true))).toEqual(Array.from(s));
      expect(Array.from(unpackInt4(packInt4(u), n, false))).toEqual(Array.from(u));
      expect(packInt4(s).length).toBe(Math.ceil(n / 2));
    }
    const all = Int8Array.from({ length: 16 }, (_, i) => i - 8);
    expect(Array.from(unpackInt4(packInt4(all), 16, true))).toEqual(Array.from(all));
  });
  it('rejects codes outside 4 bits and counts that do not fit', () => {
    expect(() => packInt4(Int8Array.from([8]))).toThrow(NqInputError);
    expect(() => packInt4(Uint8Array.from([16]))).toThrow(NqInputError);
    expect(() => unpackInt4(new Uint8Array(2), 5, true)).toThrow(NqInputError);
  });
});
