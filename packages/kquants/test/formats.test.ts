import { NqInputError, NqUnsupportedError } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { bitsPerWeight, byteSize, formatOf, GGML_TYPE, supportedFormatOf } from '../src/index.js';
import { BLOCK } from './reference.js';

describe('block formats', () => {
  it('block geometry equals the sum of the struct fields of ggml-common.h', () => {
    for (const [name, [w, bytes]] of Object.entries(BLOCK)) {
      const f = formatOf(name as never);
      expect([f.blockSize, f.typeSize], name).toEqual([w, bytes]);
      expect(f.bitsPerWeight).toBe((bytes * 8) / w);
    }
  });

  it('bits per weight of the K-quants and legacy formats', () => {
    // Q4_K: 4-bit codes + 2·6-bit scale/min per 32 + 2 f16 per 256 = 4 + 12/32 + 32/256.
    expect(bitsPerWeight('Q4_K')).toBe(4 + 12 / 32 + 32 / 256);
    expect(bitsPerWeight('Q5_K')).toBe(5 + 12 / 32 + 32 / 256);
    // Q6_K: 6-bit codes + 8-bit scale per 16 + one f16 per 256.
    expect(bitsPerWeight('Q6_K')).toBe(6 + 8 / 16 + 16 / 256);
    expect(bitsPerWeight('Q8_0')).toBe(8 + 16 / 32);
    expect(bitsPerWeight('Q4_0')).toBe(4 + 16 / 32);
    expect(bitsPerWeight('Q4_1')).toBe(4 + 32 / 32);
    expect(bitsPerWeight('F32')).toBe(32);
  });

  it('ggml type ids as in ggml.h', () => {
    expect(GGML_TYPE).toMatchObject({
      F32: 0,
      F16: 1,
      Q4_0: 2,
      Q4_1: 3,
      Q5_0: 6,
      Q5_1: 7,
      Q8_0: 8,
      Q4_K: 12,
      Q5_K: 13,
      Q6_K: 14,
      BF16: 30,
    });
    expect(formatOf(12).name).toBe('Q4_K');
  });

  it('typed errors for unknown types, unsupported types and partial blocks', () => {
    expect(() => formatOf(999)).toThrow(NqInputError);
    expect(() => formatOf('Q9_K' as never)).toThrow(/unknown ggml type/);
    expect(() => supportedFormatOf('IQ2_XXS')).toThrow(NqUnsupportedError);
    expect(() => byteSize('Q4_K', 100)).toThrow(NqInputError);
    expect(byteSize('Q4_K', 512)).toBe(288);
  });
});
