import { describe, expect, it } from 'vitest';
import { correctabilityScore, depthOf } from '../src/q1.js';
import { median, ranks, spearman } from '../src/stats.js';
import { verdictQ1, verdictQ2 } from '../src/verdict.js';

describe('statistics', () => {
  it('ranks ties by their average rank', () => {
    expect(Array.from(ranks([10, 20, 20, 5]))).toEqual([2, 3.5, 3.5, 1]);
  });
  it('Spearman: monotone = 1, reversed = −1, textbook value with ties, NaN when undefined', () => {
    expect(spearman([1, 2, 3, 4], [1, 4, 9, 16])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [8, 4, 2, 1])).toBeCloseTo(-1, 12);
    // No ties: ρ = 1 − 6Σd²/(n(n²−1)); ranks (1,2,3,4,5) vs (2,1,4,3,5): Σd² = 4 → 1 − 24/120 = 0.8.
    expect(spearman([1, 2, 3, 4, 5], [20, 10, 40, 30, 50])).toBeCloseTo(0.8, 12);
    // Ties: Pearson on average ranks (1, 2.5, 2.5, 4) vs (1, 2, 3, 4) = 0.9486832980505138.
    expect(spearman([1, 2, 2, 3], [1, 2, 3, 4])).toBeCloseTo(3 / Math.sqrt(10), 12);
    expect(spearman([1, 2], [1, 2])).toBeNaN();
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNaN();
  });
  it('median of odd and even lists', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
  it('depth thirds by (layer + ½)/L', () => {
    expect([0, 1].map((l) => depthOf(l, 2).third)).toEqual(['early', 'late']);
    expect([0, 1, 2, 3].map((l) => depthOf(l, 4).third)).toEqual(['early', 'mid', 'mid', 'late']);
    expect([0, 1, 2, 3, 4, 5].map((l) => depthOf(l, 6).third)).toEqual([
      'early',
      'early',
      'mid',
      'mid',
      'late',
      'late',
    ]);
  });
  it('correctability score: e·(1 − √(1 − R)), 0 for R ≤ 0, e for R = 1', () => {
    expect(correctabilityScore(0.2, 0.75)).toBeCloseTo(0.1, 12);
    expect(correctabilityScore(0.2, -0.3)).toBe(0);
    expect(correctabilityScore(0.2, 1)).toBeCloseTo(0.2, 12);
  });
});

describe('verdict rules (issue 11)', () => {
  it('Q1: supported needs median R_q4 ≥ 0.35 and ρ ≥ 0.35; refuted needs < 0.24 and ρ < 0', () => {
    expect(verdictQ1(0.35, 0.35)).toBe('supported');
    expect(verdictQ1(0.9, 0.34)).toBe('unclear');
    expect(verdictQ1(0.34, 0.9)).toBe('unclear');
    expect(verdictQ1(0.2399, -0.01)).toBe('refuted');
    expect(verdictQ1(0.24, -0.5)).toBe('unclear');
    expect(verdictQ1(0.1, 0)).toBe('unclear');
    expect(verdictQ1(0.5, Number.NaN)).toBe('unclear');
    expect(verdictQ1(0.1, Number.NaN)).toBe('unclear');
  });
  it('Q2: supported needs features ≥ 15% better than embedding and a ≥ 0.01 loss gain; refuted needs worse and no gain', () => {
    const base = { mseEmb: 1, mseFeat: 0.85, gainEmb: 0, gainFeat: 0.01, gainBoth: 0 };
    expect(verdictQ2(base)).toBe('supported');
    expect(verdictQ2({ ...base, gainFeat: 0, gainBoth: 0.02 })).toBe('supported');
    expect(verdictQ2({ ...base, mseFeat: 0.86 })).toBe('unclear');
    expect(verdictQ2({ ...base, gainFeat: 0.0099 })).toBe('unclear');
    // The embedding's gain does not count for "supported".
    expect(verdictQ2({ ...base, gainFeat: 0, gainEmb: 0.5 })).toBe('unclear');
    expect(verdictQ2({ mseEmb: 1, mseFeat: 1.01, gainEmb: 0, gainFeat: -0.1, gainBoth: 0 })).toBe('refuted');
    expect(verdictQ2({ mseEmb: 1, mseFeat: 1.01, gainEmb: 0.001, gainFeat: -0.1, gainBoth: 0 })).toBe(
      'unclear',
    );
    expect(verdictQ2({ mseEmb: 1, mseFeat: 1, gainEmb: 0, gainFeat: 0, gainBoth: 0 })).toBe('unclear');
  });
});

describe('error geometry', () => {
  it('anisotropy is 0 for isotropic error and 1 − 1/d for error along one direction; cos and rel err by definition', async () => {
    const { errorGeometry } = await import('../src/q1.js');
    const d = 4;
    // Isotropic: E rows = ±e_i, each channel equally often → EᵀE ∝ I → erank = d.
    const yQ = new Float32Array(8 * d).fill(1);
    const iso = Float32Array.from(yQ);
    for (let r = 0; r < 8; r++) iso[r * d + (r % d)]! += r < 4 ? 1 : -1;
    expect(errorGeometry(iso, yQ, d, [[0, 8]]).anisotropy).toBeCloseTo(0, 12);
    // One direction: E rows = c_r·v.
    const one = Float32Array.from(yQ);
    for (let r = 0; r < 8; r++) for (let i = 0; i < d; i++) one[r * d + i]! += (r + 1) * (i + 1) * 0.1;
    const g = errorGeometry(one, yQ, d, [[0, 8]]);
    expect(g.anisotropy).toBeCloseTo(1 - 1 / d, 6);
    // Y_fp = 2·Y_q: E = Y_q → cos = 1, ‖E‖/‖Y_fp‖ = ½.
    const twice = Float32Array.from(yQ, (v) => 2 * v);
    const t = errorGeometry(twice, yQ, d, [[0, 8]]);
    expect(t.cosErrOut).toBeCloseTo(1, 12);
    expect(t.relErr).toBeCloseTo(0.5, 12);
  });
});
