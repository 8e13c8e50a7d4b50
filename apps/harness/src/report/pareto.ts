import type * as vl from 'vega-lite';
import type { ResultRow } from '../store/row.js';
import { renderSvg } from './plots.js';
import { fmt } from './table.js';

/*
 * The Pareto front of model recipes: error (KLD or PPL) against bits per parameter. A point is on
 * the front when no other point has both fewer-or-equal bits and lower-or-equal error with at least
 * one strictly lower (identical points are all kept).
 */

export interface ParetoPoint {
  bits: number;
  error: number;
}

/** Indices of the non-dominated points (lower bits and lower error are better), in input order. */
export function paretoFront<P extends ParetoPoint>(points: readonly P[]): number[] {
  const out: number[] = [];
  points.forEach((p, i) => {
    if (!Number.isFinite(p.bits) || !Number.isFinite(p.error)) return;
    const dominated = points.some(
      (q, j) =>
        j !== i &&
        Number.isFinite(q.bits) &&
        Number.isFinite(q.error) &&
        q.bits <= p.bits &&
        q.error <= p.error &&
        (q.bits < p.bits || q.error < p.error),
    );
    if (!dominated) out.push(i);
  });
  return out;
}

/** One recipe on the landscape: metrics averaged over the seeds of its rows. */
export interface LandscapeEntry {
  recipe: string;
  family: string;
  bits_per_param: number;
  linear_bits_per_param: number;
  act_bits: number;
  kld: number;
  kld_se: number;
  ppl: number;
  ppl_base: number;
  top1: number;
  seeds: number;
  /** On the KLD front over linear bits / over whole-model bits. */
  front_kld: boolean;
  front_kld_model: boolean;
  front_ppl: boolean;
}

/** The technique family of a recipe name, for colours and the table. */
export function familyOf(recipe: string, kind?: string): string {
  const r = recipe.includes('+') && !recipe.includes('+kv') ? recipe.slice(0, recipe.indexOf('+')) : recipe;
  if (/^(smoothquant|hdiag)/.test(r)) return r.split('-')[0]!;
  if (r.startsWith('awq')) return 'awq';
  if (r.startsWith('gptq-') || r === 'quarot-w4a4-gptq') return 'gptq';
  if (r.startsWith('turboquant')) return 'turboquant';
  if (/^(q8_0|q4_k_m|gguf-|llamacpp-)/.test(r)) return 'k-quants';
  if (r.startsWith('mixed-')) return 'mixed precision';
  if (/^(norot|rh1|ro1|dfrot|adacodec)-/.test(r)) return 'rotation-opt';
  if (r.startsWith('kv-')) return 'kv cache';
  if (r === 'fp') return 'fp';
  if (/^(had|bhad|ro|adaptive|quarot)-/.test(r)) return 'rotation + RTN';
  return kind ?? 'RTN';
}

/** Model rows of one model/text → one entry per recipe (means over seeds), front flags set. */
export function landscapeEntries(rows: ResultRow[]): LandscapeEntry[] {
  const by = new Map<string, ResultRow[]>();
  for (const r of rows) {
    if (r.spec.study !== 'model' || r.metrics.bits_per_param === undefined) continue;
    const k = r.labels.recipe!;
    if (!by.has(k)) by.set(k, []);
    by.get(k)!.push(r);
  }
  const mean = (rs: ResultRow[], m: string) =>
    rs.reduce((a, r) => a + (r.metrics[m] ?? Number.NaN), 0) / rs.length;
  const entries: LandscapeEntry[] = [...by].map(([recipe, rs]) => ({
    recipe,
    family: familyOf(recipe),
    bits_per_param: mean(rs, 'bits_per_param'),
    linear_bits_per_param: mean(rs, 'linear_bits_per_param'),
    act_bits: mean(rs, 'act_bits'),
    kld: mean(rs, 'kld_mean'),
    kld_se: mean(rs, 'kld_se'),
    ppl: mean(rs, 'ppl'),
    ppl_base: mean(rs, 'ppl_base'),
    top1: mean(rs, 'top1'),
    seeds: rs.length,
    front_kld: false,
    front_kld_model: false,
    front_ppl: false,
  }));
  for (const i of paretoFront(entries.map((e) => ({ bits: e.linear_bits_per_param, error: e.kld }))))
    entries[i]!.front_kld = true;
  for (const i of paretoFront(entries.map((e) => ({ bits: e.bits_per_param, error: e.kld }))))
    entries[i]!.front_kld_model = true;
  for (const i of paretoFront(entries.map((e) => ({ bits: e.linear_bits_per_param, error: e.ppl }))))
    entries[i]!.front_ppl = true;
  return entries.sort((a, b) => a.linear_bits_per_param - b.linear_bits_per_param || a.kld - b.kld);
}

/** The markdown table behind the plots. */
export function landscapeTable(entries: LandscapeEntry[]): string {
  const head =
    '| recipe | family | bits/param (linears) | bits/param (model) | act bits | KLD | PPL | top-1 % | seeds | front |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n';
  return (
    head +
    entries
      .map(
        (e) =>
          `| \`${e.recipe}\` | ${e.family} | ${fmt(e.linear_bits_per_param, 3)} | ${fmt(e.bits_per_param, 3)} | ${e.act_bits === 32 ? '–' : fmt(e.act_bits, 2)} | ${fmt(e.kld, 5)} ± ${fmt(e.kld_se, 5)} | ${fmt(e.ppl, 3)} | ${fmt(100 * e.top1, 2)} | ${e.seeds} | ${[
            e.front_kld ? 'KLD' : '',
            e.front_kld_model ? 'KLD (model bits)' : '',
            e.front_ppl ? 'PPL' : '',
          ]
            .filter(Boolean)
            .join(', ')} |`,
      )
      .join('\n') +
    '\n'
  );
}

/**
 * Error vs bits per parameter with the front drawn as a step line and its points ringed.
 * `metric` 'kld' (log scale) or 'ppl'; `bits` over the block linears or the whole model.
 */
export async function landscapePlot(
  entries: LandscapeEntry[],
  metric: 'kld' | 'ppl',
  bits: 'linear' | 'model' = 'linear',
  title?: string,
): Promise<string | null> {
  const pts = entries
    .filter((e) => e.recipe !== 'fp' || metric === 'ppl')
    .map((e) => ({
      recipe: e.recipe,
      family: e.family,
      bits: bits === 'linear' ? e.linear_bits_per_param : e.bits_per_param,
      error: metric === 'kld' ? Math.max(e.kld, 1e-6) : e.ppl,
    }))
    .filter((p) => Number.isFinite(p.bits) && Number.isFinite(p.error));
  if (pts.length === 0) return null;
  const front = paretoFront(pts)
    .map((i) => pts[i]!)
    .sort((a, b) => a.bits - b.bits);
  const yTitle = metric === 'kld' ? 'KLD vs FP (mean, log scale)' : 'perplexity';
  return renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title:
      title ??
      `${metric.toUpperCase()} vs bits per parameter (${bits === 'linear' ? 'block linears' : 'whole model'}); Pareto front in black`,
    width: 620,
    height: 380,
    layer: [
      {
        data: { values: front },
        mark: { type: 'line', interpolate: 'step-after', color: 'black', strokeWidth: 1.2 },
        encoding: {
          x: { field: 'bits', type: 'quantitative' },
          y: { field: 'error', type: 'quantitative' },
        },
      },
      {
        data: { values: pts },
        mark: { type: 'point', filled: true, size: 70, opacity: 0.85 },
        encoding: {
          x: {
            field: 'bits',
            type: 'quantitative',
            title: `bits per parameter (${bits === 'linear' ? 'block linears' : 'whole model'})`,
            scale: { zero: false },
          },
          y: {
            field: 'error',
            type: 'quantitative',
            title: yTitle,
            scale: metric === 'kld' ? { type: 'log' } : { zero: false },
          },
          color: { field: 'family', type: 'nominal', title: 'family' },
          tooltip: [{ field: 'recipe' }, { field: 'bits' }, { field: 'error' }],
        },
      },
      {
        data: { values: front },
        mark: { type: 'text', align: 'left', dx: 6, dy: -6, fontSize: 9 },
        encoding: {
          x: { field: 'bits', type: 'quantitative' },
          y: { field: 'error', type: 'quantitative' },
          text: { field: 'recipe' },
        },
      },
    ],
  } as unknown as vl.TopLevelSpec);
}
