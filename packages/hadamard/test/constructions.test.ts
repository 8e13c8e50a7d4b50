import { NqUnsupportedError } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { galoisField, primePower } from '../src/construct/galois.js';
import {
  blockFactors,
  hadamardConstruction,
  hadamardMatrix,
  isSupportedSize,
  MODEL_HADAMARD_ORDERS,
  nearestSupportedSizes,
} from '../src/index.js';

/** Checks H·Hᵀ = m·I exactly (integer arithmetic) and that every entry is ±1. */
function assertHadamard(m: number): void {
  const h = hadamardMatrix(m);
  expect(h.length).toBe(m * m);
  for (let i = 0; i < m * m; i++)
    if (h[i] !== 1 && h[i] !== -1) throw new Error(`H_${m} has entry ${h[i]} at ${i}`);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let k = 0; k < m; k++) s += h[i * m + k]! * h[j * m + k]!;
      if (s !== (i === j ? m : 0)) throw new Error(`H_${m}: (H·Hᵀ)[${i}][${j}] = ${s}`);
    }
}

describe('small Hadamard constructions', () => {
  it.each([...MODEL_HADAMARD_ORDERS])('H_m · H_mᵀ = m·I for m = %i', (m) => {
    assertHadamard(m);
  });

  it('uses the expected construction for each model order', () => {
    const how = Object.fromEntries(MODEL_HADAMARD_ORDERS.map((m) => [m, hadamardConstruction(m)!.how]));
    expect(how).toEqual({
      12: 'paley-I', // q = 11
      20: 'paley-I', // q = 19
      28: 'paley-I', // q = 27 = 3³, needs GF(27)
      36: 'paley-II', // q = 17
      40: 'kronecker', // 2 · 20
      52: 'paley-II', // q = 25 = 5², needs GF(25)
      60: 'paley-I', // q = 59
      108: 'paley-I', // q = 107
      140: 'paley-I', // q = 139
      156: 'cooper-wallis', // 12 · 13
      172: 'williamson', // 4 · 43
    });
  });

  it.each([
    1, 2, 4, 8, 16, 24, 44, 48, 68, 72, 84, 96, 144, 164, 168, 180,
  ])('other constructible order %i is Hadamard', (m) => {
    assertHadamard(m);
  });

  it('GF(q) for prime powers: χ is a character (χ(ab) = χ(a)χ(b)) — checked via sub on squares', () => {
    expect(primePower(27)).toEqual({ p: 3, k: 3 });
    expect(primePower(25)).toEqual({ p: 5, k: 2 });
    expect(primePower(77)).toBeNull();
    for (const q of [25, 27, 49, 81]) {
      const f = galoisField(q);
      let squares = 0;
      for (let a = 1; a < q; a++) if (f.chi(a) === 1) squares++;
      expect(squares).toBe((q - 1) / 2); // exactly half the non-zero elements are squares
      expect(f.sub(0, 0)).toBe(0);
    }
  });

  it('refuses orders it cannot build with the nearest constructible ones', () => {
    expect(() => hadamardMatrix(92)).toThrow(NqUnsupportedError);
    expect(() => hadamardMatrix(92)).toThrow(/88, 96/);
    expect(() => hadamardMatrix(6)).toThrow(NqUnsupportedError);
  });

  it('factors block sizes of real models', () => {
    expect(blockFactors(768)).toEqual({ m: 12, p: 64 });
    expect(blockFactors(11008)).toEqual({ m: 172, p: 64 });
    expect(blockFactors(14336)).toEqual({ m: 28, p: 512 });
    expect(blockFactors(28672)).toEqual({ m: 28, p: 1024 });
    expect(blockFactors(5120)).toEqual({ m: 20, p: 256 });
    expect(blockFactors(40)).toEqual({ m: 20, p: 2 });
    expect(blockFactors(4096)).toEqual({ m: 1, p: 4096 });
    expect(isSupportedSize(100)).toBe(true); // Paley II, q = 49 = 7²
    expect(isSupportedSize(92)).toBe(false); // 91 = 7·13 and 45 are not prime powers
    expect(nearestSupportedSizes(92)).toEqual([84, 88, 96, 100]);
  });
});
