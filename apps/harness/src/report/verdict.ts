import type { ResultRow } from '../store/row.js';
import type { Sweep, Verdict } from '../sweep/schema.js';
import { fmt } from './table.js';

/**
 * The experiment registry's judgement of one sweep's hypothesis.
 *
 * Rows matching `where` are split into baseline rows and treatment rows by the selectors; a treatment
 * row is paired with the baseline row that has the same labels on every other axis (seed included).
 * For each pair the relative improvement is
 *     r = (base − treat) / |base|   (better: lower)    or   (treat − base) / |base|   (better: higher).
 * Each seed is one reproduction; it *supports* the hypothesis when the median r of its pairs is
 * ≥ min_effect, *contradicts* it when the median r ≤ 0, and is *weak* in between.
 *   success      — every seed supports;
 *   failure      — every seed contradicts;
 *   inconclusive — otherwise (seeds disagree, effects below min_effect, or no pairs);
 *   baseline     — the sweep is kind: baseline (reference numbers, nothing to judge).
 */
export type Outcome = 'success' | 'failure' | 'inconclusive' | 'baseline';

export interface SeedEvidence {
  seed: string;
  pairs: number;
  medianImprovement: number;
  minImprovement: number;
  maxImprovement: number;
  says: 'supports' | 'contradicts' | 'weak';
}

export interface Judgement {
  sweep: string;
  outcome: Outcome;
  hypothesis?: string;
  metric?: string;
  /** "k of n seeds support" etc. */
  agreement: string;
  seeds: SeedEvidence[];
  evidence: string;
}

type Selector = Record<string, string | string[]>;

function matches(labels: Record<string, string>, sel: Selector | undefined): boolean {
  if (!sel) return true;
  for (const [k, v] of Object.entries(sel)) {
    const have = labels[k];
    if (have === undefined) return false;
    if (Array.isArray(v) ? !v.includes(have) : have !== v) return false;
  }
  return true;
}

export function judge(sweep: Sweep, rows: ResultRow[]): Judgement {
  const base = { sweep: sweep.name, hypothesis: sweep.hypothesis };
  if (sweep.kind === 'baseline' || !sweep.verdict) {
    return {
      ...base,
      outcome: 'baseline',
      agreement: `${new Set(rows.map((r) => r.labels.seed)).size} seed(s)`,
      seeds: [],
      evidence:
        sweep.kind === 'baseline'
          ? 'baseline sweep: reference numbers, no hypothesis to judge'
          : 'no verdict rule in the sweep file',
    };
  }
  const v: Verdict = sweep.verdict;
  const scoped = rows.filter(
    (r) =>
      matches(r.labels, v.where) &&
      r.metrics[v.metric] !== undefined &&
      Number.isFinite(r.metrics[v.metric]!),
  );
  const selKeys = new Set([...Object.keys(v.baseline), ...Object.keys(v.treatment)]);
  const keyOf = (r: ResultRow) =>
    Object.entries(r.labels)
      .filter(([k]) => !selKeys.has(k))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, x]) => `${k}=${x}`)
      .join(' ');
  const baseBy = new Map<string, ResultRow>();
  for (const r of scoped) if (matches(r.labels, v.baseline)) baseBy.set(keyOf(r), r);
  const bySeed = new Map<string, number[]>();
  for (const t of scoped) {
    if (!matches(t.labels, v.treatment) || matches(t.labels, v.baseline)) continue;
    const b = baseBy.get(keyOf(t));
    if (!b) continue;
    const bv = b.metrics[v.metric]!;
    const tv = t.metrics[v.metric]!;
    if (bv === 0) continue;
    const r = v.better === 'lower' ? (bv - tv) / Math.abs(bv) : (tv - bv) / Math.abs(bv);
    const seed = t.labels.seed ?? '?';
    if (!bySeed.has(seed)) bySeed.set(seed, []);
    bySeed.get(seed)!.push(r);
  }
  const seeds: SeedEvidence[] = [...bySeed]
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([seed, rs]) => {
      const s = rs.slice().sort((a, b) => a - b);
      const med = s.length % 2 ? s[s.length >> 1]! : (s[(s.length >> 1) - 1]! + s[s.length >> 1]!) / 2;
      return {
        seed,
        pairs: s.length,
        medianImprovement: med,
        minImprovement: s[0]!,
        maxImprovement: s[s.length - 1]!,
        says: med >= v.min_effect ? 'supports' : med <= 0 ? 'contradicts' : 'weak',
      };
    });
  const n = seeds.length;
  const sup = seeds.filter((s) => s.says === 'supports').length;
  const con = seeds.filter((s) => s.says === 'contradicts').length;
  const outcome: Outcome =
    n === 0 ? 'inconclusive' : sup === n ? 'success' : con === n ? 'failure' : 'inconclusive';
  const agreement =
    n === 0
      ? 'no matched pairs'
      : outcome === 'failure'
        ? `${con} of ${n} seeds contradict`
        : `${sup} of ${n} seeds support`;
  const pct = (x: number) => `${fmt(100 * x, 1)}%`;
  const evidence =
    n === 0
      ? `no (treatment, baseline) pairs with metric ${v.metric}: the rows needed are missing`
      : `${v.metric} (${v.better} is better), treatment ${show(v.treatment)} vs baseline ${show(v.baseline)}${v.where ? ` where ${show(v.where)}` : ''}: ` +
        seeds
          .map(
            (s) =>
              `seed ${s.seed}: median improvement ${pct(s.medianImprovement)} over ${s.pairs} pairs (range ${pct(s.minImprovement)} … ${pct(s.maxImprovement)})`,
          )
          .join('; ') +
        `; threshold ${pct(v.min_effect)}`;
  return { ...base, outcome, metric: v.metric, agreement, seeds, evidence };
}

function show(s: Selector): string {
  return Object.entries(s)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('|') : v}`)
    .join(', ');
}
