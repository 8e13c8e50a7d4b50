import { describe, expect, it } from 'vitest';
import { judge } from '../src/report/verdict.js';
import type { ResultRow } from '../src/store/row.js';
import { parseSweep } from '../src/sweep/load.js';

const sweep = parseSweep({
  name: 'h',
  hypothesis: 'rotation lowers the error',
  verdict: { metric: 'err', baseline: { rotation: 'none' }, treatment: { rotation: 'had' }, min_effect: 0.1 },
  seeds: [0, 1, 2],
  kernel: { data: ['docs5m-down'], rotations: ['none', 'had'], act: ['int4-token', 'int8-token'] },
});

/** Rows with err = base for none and err = treat(seed, act) for had. */
function rows(treat: (seed: number, act: string) => number, base = 1): ResultRow[] {
  const out: ResultRow[] = [];
  for (const seed of [0, 1, 2])
    for (const act of ['int4-token', 'int8-token'])
      for (const rotation of ['none', 'had']) {
        out.push({
          labels: { study: 'kernel', data: 'docs5m-down', rotation, act, weight: 'none', seed: String(seed) },
          metrics: { err: rotation === 'none' ? base : treat(seed, act) },
        } as unknown as ResultRow);
      }
  return out;
}

describe('experiment registry verdicts', () => {
  it('success when every seed improves by at least min_effect (pairs matched on the other axes)', () => {
    const j = judge(
      sweep,
      rows(() => 0.5),
    );
    expect(j.outcome).toBe('success');
    expect(j.agreement).toBe('3 of 3 seeds support');
    expect(j.seeds.map((s) => s.pairs)).toEqual([2, 2, 2]);
    expect(j.seeds[0]!.medianImprovement).toBeCloseTo(0.5, 12);
  });

  it('failure when every seed is no better', () => {
    const j = judge(
      sweep,
      rows(() => 1.2),
    );
    expect(j.outcome).toBe('failure');
    expect(j.agreement).toBe('3 of 3 seeds contradict');
  });

  it('inconclusive when seeds disagree or effects are below the threshold', () => {
    expect(
      judge(
        sweep,
        rows((seed) => (seed === 1 ? 1.3 : 0.5)),
      ).outcome,
    ).toBe('inconclusive');
    const weak = judge(
      sweep,
      rows(() => 0.95),
    );
    expect(weak.outcome).toBe('inconclusive');
    expect(weak.seeds.every((s) => s.says === 'weak')).toBe(true);
    expect(judge(sweep, []).evidence).toContain('no (treatment, baseline) pairs');
  });

  it('respects `where` and `better: higher`, and marks baseline sweeps', () => {
    const scoped = { ...sweep, verdict: { ...sweep.verdict!, where: { act: 'int8-token' } } };
    // int8: improves; int4: gets worse — scoped to int8 the hypothesis holds.
    const rs = rows((_s, act) => (act === 'int8-token' ? 0.5 : 2));
    expect(judge(sweep, rs).outcome).not.toBe('success');
    expect(judge(scoped, rs).outcome).toBe('success');
    const higher = { ...sweep, verdict: { ...sweep.verdict!, better: 'higher' as const } };
    expect(
      judge(
        higher,
        rows(() => 0.5),
      ).outcome,
    ).toBe('failure');
    expect(judge({ ...sweep, kind: 'baseline' }, rs).outcome).toBe('baseline');
  });
});
