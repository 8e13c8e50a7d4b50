import { Rng } from '@nq/core';
import { describe, expect, it } from 'vitest';
import {
  decodeE8M0,
  decodeMiniFloat,
  E2M1,
  E4M3,
  E5M2,
  encodeE8M0,
  encodeMiniFloat,
  type MiniFloatFormat,
  roundToMiniFloat,
} from '../src/formats/minifloat.js';
import { decodeBits, e2m1, e4m3, e5m2, type Fmt, finiteCodes, nearest } from './grids.js';

const pairs: [MiniFloatFormat, Fmt, number][] = [
  [E4M3, e4m3, 256],
  [E5M2, e5m2, 256],
  [E2M1, e2m1, 16],
];

describe('every code decodes to the value its bit fields define', () => {
  for (const [fmt, ref, n] of pairs) {
    it(`${fmt.name}: all ${n} codes`, () => {
      for (let c = 0; c < n; c++) {
        const want = decodeBits(ref, c);
        const got = decodeMiniFloat(fmt, c);
        if (Number.isNaN(want)) expect(got).toBeNaN();
        else expect(got).toBe(want);
      }
    });
  }
  it('known anchors', () => {
    expect(decodeMiniFloat(E4M3, 0x7e)).toBe(448);
    expect(decodeMiniFloat(E4M3, 0x7f)).toBeNaN();
    expect(decodeMiniFloat(E4M3, 0xff)).toBeNaN();
    expect(decodeMiniFloat(E4M3, 0x78)).toBe(256); // S.1111.000 is a number in E4M3, not inf
    expect(decodeMiniFloat(E4M3, 0x01)).toBe(2 ** -9);
    expect(decodeMiniFloat(E4M3, 0x08)).toBe(2 ** -6);
    expect(decodeMiniFloat(E5M2, 0x7b)).toBe(57344);
    expect(decodeMiniFloat(E5M2, 0x7c)).toBe(Infinity);
    expect(decodeMiniFloat(E5M2, 0xfc)).toBe(-Infinity);
    expect(decodeMiniFloat(E5M2, 0x7d)).toBeNaN();
    expect(decodeMiniFloat(E5M2, 0x01)).toBe(2 ** -16);
    expect(Array.from({ length: 8 }, (_, c) => decodeMiniFloat(E2M1, c))).toEqual([
      0, 0.5, 1, 1.5, 2, 3, 4, 6,
    ]);
    expect(Array.from({ length: 8 }, (_, c) => decodeMiniFloat(E2M1, c + 8))).toEqual([
      -0, -0.5, -1, -1.5, -2, -3, -4, -6,
    ]);
  });
});

describe('encoding picks the nearest value, ties to even', () => {
  for (const [fmt, ref] of pairs) {
    const grid = finiteCodes(ref)
      .filter((c) => c.value >= 0 && !Object.is(c.value, -0))
      .sort((a, b) => a.value - b.value);
    it(`${fmt.name}: every representable value encodes to its own code`, () => {
      for (const { code, value } of finiteCodes(ref)) {
        if (value === 0) continue;
        expect(encodeMiniFloat(fmt, value)).toBe(code);
      }
      expect(encodeMiniFloat(fmt, 0)).toBe(0);
      expect(encodeMiniFloat(fmt, -0)).toBe(1 << (fmt.ebits + fmt.mbits));
    });
    it(`${fmt.name}: every midpoint goes to the even code, and its neighbours to the nearest`, () => {
      for (let i = 0; i + 1 < grid.length; i++) {
        const a = grid[i]!;
        const b = grid[i + 1]!;
        const mid = (a.value + b.value) / 2;
        const even = (a.code & 1) === 0 ? a : b;
        for (const sgn of [1, -1]) {
          expect(roundToMiniFloat(fmt, sgn * mid)).toBe(sgn * even.value);
          const eps = (b.value - a.value) * 1e-6;
          expect(roundToMiniFloat(fmt, sgn * (mid - eps))).toBe(sgn * a.value);
          expect(roundToMiniFloat(fmt, sgn * (mid + eps))).toBe(sgn * b.value);
          expect(decodeMiniFloat(fmt, encodeMiniFloat(fmt, sgn * mid))).toBe(sgn * even.value);
        }
      }
    });
    it(`${fmt.name}: random values match a brute-force nearest search`, () => {
      const rng = new Rng(fmt.bits * 31 + fmt.mbits);
      const max = grid[grid.length - 1]!.value;
      for (let i = 0; i < 3000; i++) {
        // log-uniform magnitudes across the whole range, subnormals included
        const v = (rng.uniform() < 0.5 ? -1 : 1) * 2 ** ((rng.uniform() * 1.2 - 1) * Math.log2(max) * 1.3);
        expect(roundToMiniFloat(fmt, v) + 0).toBe(nearest(ref, v) + 0); // +0: the sign of a zero result is not compared here
      }
    });
  }

  it('saturates by default; non-saturating overflow gives inf (E5M2) or NaN (E4M3)', () => {
    expect(roundToMiniFloat(E4M3, 1e6)).toBe(448);
    expect(roundToMiniFloat(E4M3, -500)).toBe(-448);
    expect(roundToMiniFloat(E4M3, 464, false)).toBe(448); // tie between 448 (even) and the NaN slot
    expect(roundToMiniFloat(E4M3, 465, false)).toBeNaN();
    expect(encodeMiniFloat(E4M3, 465, false)).toBe(0x7f);
    expect(roundToMiniFloat(E5M2, 1e9)).toBe(57344);
    expect(roundToMiniFloat(E5M2, 61440, false)).toBe(Infinity); // midpoint 57344|65536 → even (inf slot)
    expect(roundToMiniFloat(E5M2, 61439, false)).toBe(57344);
    expect(encodeMiniFloat(E5M2, -1e9, false)).toBe(0xfc);
    expect(roundToMiniFloat(E2M1, 100)).toBe(6);
    expect(roundToMiniFloat(E2M1, 5)).toBe(4); // tie 4 (code 6) vs 6 (code 7)
  });

  it('subnormals: half the smallest subnormal rounds to 0, just above it to the subnormal', () => {
    expect(roundToMiniFloat(E4M3, 2 ** -10)).toBe(0);
    expect(roundToMiniFloat(E4M3, 2 ** -10 * 1.0001)).toBe(2 ** -9);
    expect(roundToMiniFloat(E4M3, 3 * 2 ** -10)).toBe(2 ** -8); // tie 1·2^-9 (odd) vs 2·2^-9 (even)
    expect(roundToMiniFloat(E5M2, 2 ** -17)).toBe(0);
    expect(roundToMiniFloat(E5M2, 3 * 2 ** -17)).toBe(2 ** -15);
    expect(roundToMiniFloat(E2M1, 0.25)).toBe(0);
    expect(roundToMiniFloat(E2M1, 0.26)).toBe(0.5);
  });
});

describe('E8M0', () => {
  it('decodes 2^(code−127), 0xFF is NaN, encode clamps', () => {
    for (let c = 0; c < 255; c++) expect(decodeE8M0(c)).toBe(2 ** (c - 127));
    expect(decodeE8M0(255)).toBeNaN();
    expect(encodeE8M0(0)).toBe(127);
    expect(encodeE8M0(-200)).toBe(0);
    expect(encodeE8M0(300)).toBe(254);
  });
});
