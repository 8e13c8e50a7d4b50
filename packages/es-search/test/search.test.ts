import { NqInputError } from '@nq/core';
import { describe, expect, it } from 'vitest';
import {
  allowedBlocks,
  CpuErrorEvaluator,
  type DiscoverOptions,
  discover,
  fromRotationSpec,
  LatencyCache,
  structureKey,
} from '../src/index.js';
import { gaussian, outlierActivations } from './helpers.js';

const data = { name: 'synthetic', x: outlierActivations(64, 64, 1, 4, 25), w: gaussian(32, 64, 2) };
const base: DiscoverOptions = {
  data,
  target: 'w4a4',
  seed: 42,
  population: 10,
  generations: 6,
  signGenerations: 3,
};
const strip = (h: { elapsedSeconds: number }[]) => h.map((r) => ({ ...r, elapsedSeconds: 0 }));

describe('discover', () => {
  it('is deterministic on CPU: same seed → same history and best spec; another seed → another history', async () => {
    const a = await discover(base);
    const b = await discover(base);
    expect(strip(b.history)).toEqual(strip(a.history));
    expect(JSON.stringify(b.best)).toBe(JSON.stringify(a.best));
    const c = await discover({ ...base, seed: 43 });
    expect(strip(c.history)).not.toEqual(strip(a.history));
  });

  it('history: best non-increasing per restart, both phases, evaluations counted; best error reproducible', async () => {
    const progress: number[] = [];
    const r = await discover({ ...base, restarts: 2 }, (p) => progress.push(p.record.generation));
    expect(progress.length).toBe(r.history.length);
    expect(r.history.length).toBe(2 * (6 + 1 + 3 + 1));
    for (let i = 1; i < r.history.length; i++) {
      const [p, q] = [r.history[i - 1]!, r.history[i]!];
      if (p.restart === q.restart) expect(q.best).toBeLessThanOrEqual(p.best);
      expect(q.evaluations).toBeGreaterThanOrEqual(p.evaluations);
    }
    expect(r.history.some((h) => h.phase === 2)).toBe(true);
    // Phase 2 keeps the structure.
    const p2 = r.history.filter((h) => h.phase === 2 && h.restart === 0);
    expect(new Set(p2.map((h) => h.bestStructure)).size).toBe(1);
    expect(r.evaluations).toBe(r.history.at(-1)!.evaluations);
    expect(r.evaluations).toBeLessThanOrEqual(2 * (10 + 6 * 8 + 10 + 3 * 8));
    // The reported error is what an independent evaluator gives for the returned spec.
    expect(new CpuErrorEvaluator(data.x, data.w, 'w4a4').error(r.best)).toBe(r.bestError);
    expect(Math.min(...r.history.map((h) => h.best))).toBe(r.bestCost);
    // Comparison table: identity, full random Hadamard, block random Hadamard, best found.
    expect(r.comparison.map((c) => c.name)).toEqual([
      'identity',
      'random Hadamard 64',
      'block-32 random Hadamard',
      'best found',
    ]);
    expect(r.comparison[3]!.error).toBe(r.bestError);
    // On outlier-heavy data the search beats no rotation by a wide margin.
    expect(r.bestError).toBeLessThan(0.5 * r.comparison[0]!.error);
  });

  it('β·latency steers the structure (deterministic latency table)', async () => {
    // Latency grows with every stage and block size: the identity-like structure "1" is cheapest.
    const blocks = allowedBlocks(64);
    const table: Record<string, number> = {};
    const cost = (b: number) => 1 + Math.log2(b);
    for (const a of blocks) {
      table[`${a}`] = cost(a);
      for (const b of blocks) {
        table[`${a}x${b}`] = cost(a) + cost(b);
        for (const c of blocks) table[`${a}x${b}x${c}`] = cost(a) + cost(b) + cost(c);
      }
    }
    const r = await discover({ ...base, beta: 10, latency: { mode: 'table', table } });
    expect(structureKey(fromRotationSpec(r.best))).toBe('1');
    const r0 = await discover({ ...base, beta: 0, latency: { mode: 'table', table } });
    expect(structureKey(fromRotationSpec(r0.best))).not.toBe('1');
  });

  it('measured latency is taken once per structure', async () => {
    const cache = new LatencyCache({ mode: 'measure', rows: 8, timeMs: 5 }, 64);
    const g1 = fromRotationSpec({ version: 1, dim: 64, stages: [{ kind: 'hadamard', block: 16 }] });
    const g2 = fromRotationSpec({
      version: 1,
      dim: 64,
      stages: [{ kind: 'hadamard', block: 16, signs: new Array(64).fill(-1) }],
    });
    const a = await cache.latencyMs(g1);
    const b = await cache.latencyMs(g2);
    expect(a).toBeGreaterThan(0);
    expect(b).toBe(a);
    expect(cache.measurements).toBe(1);
    expect(Object.keys(cache.table)).toEqual(['16']);
  });

  it('rejects bad options with typed errors naming the argument', async () => {
    await expect(discover({ ...base, seed: -1 })).rejects.toThrow(/seed/);
    await expect(discover({ ...base, population: 1 })).rejects.toThrow(/population/);
    await expect(discover({ ...base, elite: 10 })).rejects.toThrow(/elite/);
    await expect(discover({ ...base, crossoverRate: 2 })).rejects.toThrow(/crossoverRate/);
    await expect(discover({ ...base, minBlock: 65 })).rejects.toThrow(/minBlock/);
    await expect(discover({ ...base, target: 'int5' as never })).rejects.toThrow(NqInputError);
    await expect(discover({ ...base, data: { name: 'x', x: data.x } })).rejects.toThrow(/w/);
    await expect(discover({ ...base, beta: 1, latency: { mode: 'table', table: {} } })).rejects.toThrow(
      /latency.table/,
    );
  });
});

describe('pairedDifference', () => {
  it('mean and standard error of a − b by definition', async () => {
    const { pairedDifference } = await import('../src/index.js');
    const a = Float64Array.of(3, 5, 7, 9);
    const b = Float64Array.of(1, 2, 3, 4);
    // d = 2, 3, 4, 5: mean 3.5, population variance 1.25, SE = sqrt(1.25/3).
    const r = pairedDifference(a, b);
    expect(r.mean).toBe(3.5);
    expect(r.se).toBeCloseTo(Math.sqrt(1.25 / 3), 12);
    expect(() => pairedDifference(a, b.subarray(0, 3))).toThrow(/same windows/);
  });
});
