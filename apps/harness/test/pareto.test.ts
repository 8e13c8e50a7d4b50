import { describe, expect, it } from 'vitest';
import { familyOf, paretoFront } from '../src/report/pareto.js';

describe('Pareto front (lower bits and lower error are better)', () => {
  it('keeps exactly the non-dominated points', () => {
    const pts = [
      { bits: 4, error: 0.1 }, // 0 front
      { bits: 4.5, error: 0.05 }, // 1 front
      { bits: 4.5, error: 0.08 }, // 2 dominated by 1 (same bits, more error)
      { bits: 5, error: 0.06 }, // 3 dominated by 1
      { bits: 8, error: 0.001 }, // 4 front
      { bits: 3, error: 0.5 }, // 5 front (fewest bits)
      { bits: 16, error: 0.001 }, // 6 dominated by 4 (same error, more bits)
    ];
    expect(paretoFront(pts)).toEqual([0, 1, 4, 5]);
  });

  it('identical points are both kept; NaN points are never on it and never dominate', () => {
    expect(
      paretoFront([
        { bits: 4, error: 1 },
        { bits: 4, error: 1 },
      ]),
    ).toEqual([0, 1]);
    expect(
      paretoFront([
        { bits: Number.NaN, error: 0 },
        { bits: 4, error: 1 },
      ]),
    ).toEqual([1]);
    expect(paretoFront([])).toEqual([]);
  });

  it('families of recipe names', () => {
    expect(familyOf('hdiag-a0.15+had-w4a4')).toBe('hdiag');
    expect(familyOf('gptq-w4a16-g128;calib=8x256')).toBe('gptq');
    expect(familyOf('had-w4a4+kv4')).toBe('rotation + RTN');
    expect(familyOf('llamacpp-q4_k_m')).toBe('k-quants');
  });
});
