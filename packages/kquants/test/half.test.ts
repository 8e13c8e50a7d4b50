import { Rng } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { fmaf, nearestInt, roundAway } from '../src/cpu/index.js';
import { fromBf16, fromHalf, toBf16, toHalf } from '../src/index.js';
import { halfValue } from './reference.js';

// Every finite half, ascending, from the definition (sign, 5-bit exponent, 10-bit mantissa).
const finite: { h: number; v: number }[] = [];
for (let h = 0; h < 0x10000; h++) {
  if (((h >> 10) & 31) === 31) continue;
  finite.push({ h, v: halfValue(h & 255, h >> 8) });
}
const positives = finite.filter((e) => e.h < 0x8000).sort((a, b) => a.v - b.v);

/** Nearest half by search over the table, ties to the even mantissa. */
function nearestHalf(x: number): number {
  const a = Math.abs(x);
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const top = positives[positives.length - 1]!;
  if (a >= top.v + 16) return sign | 0x7c00; // 65520 and above round to Inf
  let lo = 0;
  let hi = positives.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (positives[mid]!.v <= a) lo = mid;
    else hi = mid;
  }
  const p = positives[lo]!;
  const q = positives[hi]!;
  if (a <= p.v) return sign | p.h;
  if (a >= q.v) return sign | q.h;
  const dp = a - p.v;
  const dq = q.v - a;
  if (dp < dq) return sign | p.h;
  if (dq < dp) return sign | q.h;
  return sign | ((p.h & 1) === 0 ? p.h : q.h);
}

describe('f16 and bf16', () => {
  it('decodes every half as the definition says', () => {
    const bad = finite.filter(({ h, v }) => fromHalf(h) !== Math.fround(v)).map((e) => e.h);
    expect(bad).toEqual([]);
    expect(fromHalf(0x7c00)).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isNaN(fromHalf(0x7e00))).toBe(true);
  });

  it('encodes every half exactly and every midpoint to the even neighbour', () => {
    const bad: string[] = [];
    for (let i = 0; i < positives.length; i++) {
      const { h, v } = positives[i]!;
      if (toHalf(v) !== h) bad.push(`${v} → ${toHalf(v)}, want ${h}`);
      if (i + 1 < positives.length) {
        const mid = (v + positives[i + 1]!.v) / 2;
        if (toHalf(mid) !== nearestHalf(mid)) bad.push(`midpoint ${mid}`);
        if (toHalf(-mid) !== nearestHalf(-mid)) bad.push(`midpoint ${-mid}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('encodes random float32 values to the nearest half (ties to even), incl. subnormals and overflow', () => {
    const rng = new Rng(3);
    const bad: number[] = [];
    for (let i = 0; i < 20000; i++) {
      const e = Math.floor(rng.uniform() * 44) - 28; // 2^-28 .. 2^16
      const x = Math.fround((rng.uniform() * 2 - 1) * 2 ** e);
      if (toHalf(x) !== nearestHalf(x)) bad.push(x);
    }
    expect(bad).toEqual([]);
    expect(toHalf(65519)).toBe(0x7bff);
    expect(toHalf(65520)).toBe(0x7c00);
    expect(toHalf(2 ** -25)).toBe(0);
    expect(toHalf(Math.fround(2 ** -25 * 1.0000001))).toBe(1);
  });

  it('bf16 is the upper half of a float32, rounded to nearest even', () => {
    expect(fromBf16(0x3f80)).toBe(1);
    expect(toBf16(1)).toBe(0x3f80);
    expect(toBf16(Math.fround(1 + 2 ** -8))).toBe(0x3f80); // tie → even
    expect(toBf16(Math.fround(1 + 3 * 2 ** -8))).toBe(0x3f82); // tie → even (up)
    expect(toBf16(Math.fround(1 + 2 ** -8 + 2 ** -20))).toBe(0x3f81);
  });
});

describe('float32 helpers of the reference quantizers', () => {
  it('nearestInt rounds ties to even (llama.cpp magic-number rounding), roundAway ties away (roundf)', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999998].map(nearestInt)).toEqual(
      [0, 2, 2, -0, -2, -2, 2].map((v) => v + 0),
    );
    expect([0.5, 1.5, 2.5, -0.5, -2.5].map(roundAway)).toEqual([1, 2, 3, -1, -3]);
  });

  it('fmaf rounds a·b + c once', () => {
    const a = Math.fround(1 + 2 ** -23);
    const b = Math.fround(1 - 2 ** -23);
    // a·b = 1 − 2^-46 exactly; with c = −1 only a fused operation keeps the −2^-46.
    expect(fmaf(a, b, -1)).toBe(-(2 ** -46));
    expect(Math.fround(Math.fround(a * b) - 1)).toBe(0);
    // p = (1 + 2^-12)² = 1 + 2^-11 + 2^-24 is a float32 midpoint; ± 2^-80 decides the side, but
    // the float64 sum drops it, so only the midpoint correction gets these right.
    const p1 = Math.fround(1 + 2 ** -12);
    expect(fmaf(p1, p1, 2 ** -80)).toBe(Math.fround(1 + 2 ** -11 + 2 ** -23));
    expect(fmaf(p1, p1, -(2 ** -80))).toBe(Math.fround(1 + 2 ** -11));
    expect(Math.fround(p1 * p1 + 2 ** -80)).toBe(Math.fround(1 + 2 ** -11)); // what double rounding gives
  });
});
