import { Rng } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { roundHalfEven } from '../src/round.js';

// Independent definition: take the floor, look at the fractional part.
function rneReference(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f + 0;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f + 0 : f + 1;
}

describe('roundHalfEven', () => {
  it('rounds every half-integer in [-100, 100] to the even neighbour', () => {
    for (let k = -200; k <= 200; k++) {
      const x = k / 2;
      const r = roundHalfEven(x);
      expect(r).toBe(rneReference(x));
      if (k % 2 !== 0) expect(Math.abs(r % 2)).toBe(0);
    }
    expect(roundHalfEven(2.5)).toBe(2);
    expect(roundHalfEven(3.5)).toBe(4);
    expect(roundHalfEven(-2.5)).toBe(-2);
    expect(roundHalfEven(-3.5)).toBe(-4);
    expect(roundHalfEven(0.5)).toBe(0);
    expect(Object.is(roundHalfEven(-0.5), 0)).toBe(true); // no −0
    expect(Object.is(roundHalfEven(-0.2), 0)).toBe(true);
  });

  it('handles the values next to halves and large magnitudes', () => {
    expect(roundHalfEven(0.49999999999999994)).toBe(0);
    expect(roundHalfEven(2.5000000000000004)).toBe(3);
    expect(roundHalfEven(-2.5000000000000004)).toBe(-3);
    expect(roundHalfEven(2 ** 52 + 1)).toBe(2 ** 52 + 1);
    expect(roundHalfEven(2 ** 31 + 0.5)).toBe(2 ** 31);
    expect(roundHalfEven(2 ** 31 + 1.5)).toBe(2 ** 31 + 2);
  });

  it('matches the floor-based definition on random values', () => {
    const rng = new Rng(5);
    for (let i = 0; i < 20000; i++) {
      const x = (rng.uniform() - 0.5) * 40;
      const h = Math.round(x * 2) / 2; // also exercise exact halves
      expect(roundHalfEven(x)).toBe(rneReference(x));
      expect(roundHalfEven(h)).toBe(rneReference(h));
    }
  });
});
