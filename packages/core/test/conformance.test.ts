import { describe, expect, it } from 'vitest';
import {
  checkConformance,
  compareArrays,
  getKernel,
  NqError,
  NqInputError,
  registerKernel,
} from '../src/index.js';

describe('conformance helper', () => {
  it('reports max abs and max rel (relative to the reference scale)', () => {
    const c = compareArrays([1, 2.5, 3], [1, 2, 4], { abs: 1 });
    expect(c.maxAbs).toBe(1);
    expect(c.worstIndex).toBe(2);
    expect(c.maxRel).toBeCloseTo(0.25);
    expect(c.ok).toBe(true);
    expect(compareArrays([1, 2.5, 3], [1, 2, 4], { rel: 0.1 }).ok).toBe(false);
  });
  it('treats a NaN where the reference has a number as a failure', () => {
    expect(compareArrays([Number.NaN], [1], { abs: 10 }).ok).toBe(false);
  });
  it('checkConformance throws with the numbers when out of tolerance', async () => {
    await expect(
      checkConformance(
        'x',
        0,
        () => [1, 2],
        () => [1, 2.1],
        { abs: 0.01 },
      ),
    ).rejects.toThrow(/maxAbs=1.000e-1/);
  });
});

describe('kernel registry', () => {
  it('registers, finds, and refuses duplicates', () => {
    registerKernel({ op: 'TestOp', backend: 'cpu', fn: () => 1 });
    expect(getKernel<() => number>('TestOp', 'cpu').fn()).toBe(1);
    expect(() => registerKernel({ op: 'TestOp', backend: 'cpu', fn: () => 2 })).toThrow(NqError);
    expect(() => getKernel('TestOp', 'webgpu')).toThrow(NqInputError);
  });
});
