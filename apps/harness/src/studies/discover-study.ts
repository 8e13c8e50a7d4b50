import fs from 'node:fs';
import { NqInputError, Rng } from '@nq/core';
import {
  baselineSpecs,
  buildReference,
  type CapturedLayer,
  captureLayerData,
  type DiscoverResult,
  discover,
  evaluatePlan,
  type InputGroup,
  type PlanEvaluation,
  pairedDifference,
  type RotationPlan,
  sampleRows,
  seededBlockHadamard,
} from '@nq/es-search';
import { makeWindows } from '@nq/eval-ppl';
import type { RotationSpec } from '@nq/hadamard';
import type { LoadedModel } from '@nq/model';
import { fmt, renderTable } from '../report/table.js';
import type { ResultRow } from '../store/row.js';
import type { DiscoverCell } from '../sweep/cell.js';
import { canonicalJson } from '../util/canonical.js';
import { resolvePortable } from '../util/paths.js';
import { loadCellModel } from './cell-model.js';
import type { CellOutcome, KernelMemo } from './kernel-study.js';

/**
 * A discover cell: @nq/es-search's `discover()` on one linear input of a real model.
 *
 * Data. The first `capture.chars` characters of the calibration text are tokenized; the first half of
 * the tokens gives the search set, the second half the held-out set (`capture.windows` windows of
 * `capture.ctx` tokens each, spread over the half, through the full-precision model). Of the captured
 * rows of the cell's (layer, input), `capture.tokens` search rows and `capture.holdout_tokens`
 * held-out rows are drawn with the cell's seed (so each seed is an independent sample as well as an
 * independent search). Captures are shared by every cell of a sweep on the same model and text.
 *
 * Row. Metrics: error of identity / full random Hadamard / block random Hadamard / best found on the
 * search and the held-out rows (`search_<r>`, `holdout_<r>`, r ∈ none, had, block, found — the
 * baselines' signs come from the cell's seed), the held-out relative improvement of found over the
 * random Hadamard, evaluations and the found structure's size; with `model_check` also the W4A4 KLD
 * against full precision with a seeded random Hadamard on every input and, on the searched input,
 * the random Hadamard (`model_kld_had`), the found rotation (`model_kld_found`) or none
 * (`model_kld_none`), plus the paired per-token difference found − had and its standard error.
 * Extra: the per-generation history (best / mean cost, diversity: what `nq report` plots), the
 * comparison table and the RotationSpec found.
 */
export async function runDiscoverCell(
  cell: DiscoverCell,
  memo: KernelMemo,
  progress?: (msg: string) => void,
): Promise<CellOutcome> {
  const t0 = performance.now();
  const { modelFile, textFile, tokFile, model, tok } = await loadCellModel(cell, 'discover.models', memo);
  if (cell.layer >= model.config.nLayers)
    throw new NqInputError(
      'discover.layers',
      `has layer ${cell.layer} but ${modelFile} has ${model.config.nLayers} layers`,
      `Use layers 0..${model.config.nLayers - 1}.`,
    );
  const { ctx, windows, chars } = cell.capture;
  const captured = await memo.pinnedAsync(
    `discover-capture:${canonicalJson({ model: cell.model, text: cell.text, ctx, windows, chars })}`,
    async () => {
      const ids = tok.encode(fs.readFileSync(textFile, 'utf8').slice(0, chars));
      const half = Math.floor(ids.length / 2);
      return {
        search: captureLayerData(model, ids.subarray(0, half), { ctx, windows }),
        holdout: captureLayerData(model, ids.subarray(half), { ctx, windows }),
      };
    },
  );
  const pick = (all: CapturedLayer[], n: number, label: string): CapturedLayer => {
    const c = all.find((l) => l.layer === cell.layer && l.group === cell.input)!;
    const rng = new Rng(cell.seed).fork(`${label}:L${cell.layer}.${cell.input}`);
    return n < c.x.rows ? { ...c, x: sampleRows(c.x, n, rng) } : c;
  };
  const search = pick(captured.search, cell.capture.tokens, 'search');
  const holdout = pick(captured.holdout, cell.capture.holdout_tokens, 'holdout');
  const t1 = performance.now();
  const name = `L${cell.layer}.${cell.input}`;
  const s = cell.search;
  const result: DiscoverResult = await discover(
    {
      data: { name, x: search.x, w: search.w },
      holdout: { name: `${name}-holdout`, x: holdout.x, w: holdout.w },
      target: cell.target,
      seed: cell.seed,
      alpha: s.alpha,
      beta: s.beta,
      latency: s.beta > 0 ? { mode: 'measure' } : { mode: 'none' },
      population: s.population,
      generations: s.generations,
      signGenerations: s.sign_generations,
      restarts: s.restarts,
      backend: cell.backend,
    },
    (p) =>
      progress?.(
        `generation ${p.record.generation} (restart ${p.record.restart}, phase ${p.record.phase}) of ${p.totalGenerations}, best ${p.record.best.toExponential(3)}`,
      ),
  );
  const t2 = performance.now();

  const metrics: Record<string, number> = {};
  const [identity, had, block, found] = result.comparison;
  const rows = { none: identity!, had: had!, block: block!, found: found! };
  for (const [k, r] of Object.entries(rows)) {
    metrics[`search_${k}`] = r.error;
    metrics[`holdout_${k}`] = r.holdoutError!;
  }
  metrics.holdout_found_vs_had = (had!.holdoutError! - found!.holdoutError!) / had!.holdoutError!;
  metrics.baseline_block = Number(block!.structure);
  metrics.channels = search.x.cols;
  metrics.search_rows = search.x.rows;
  metrics.holdout_rows = holdout.x.rows;
  metrics.evaluations = result.evaluations;
  metrics.found_stages = result.best.stages.length;
  metrics.best_cost = result.bestCost;
  if (s.beta > 0) metrics.found_latency_ms = result.bestLatencyMs;

  const files = [modelFile, textFile, tokFile];
  const timings: Record<string, number> = { data_ms: t1 - t0, search_ms: t2 - t1 };
  if (cell.model_check) {
    const mc = cell.model_check;
    const t3 = performance.now();
    const checkText = resolvePortable(mc.text);
    files.push(checkText);
    const ref = await memo.pinnedAsync(
      `discover-ref:${canonicalJson({ model: cell.model, ...mc })}`,
      async () => {
        const ids = Int32Array.from(tok.encode(fs.readFileSync(checkText, 'utf8')));
        const wins = makeWindows(ids.length, { ctx: mc.ctx, maxWindows: mc.windows, select: 'spread' });
        progress?.(`model check: full-precision reference on ${wins.length} windows`);
        return { ids, wins, ref: buildReference(model, ids, wins) };
      },
    );
    const plan =
      (searched: RotationSpec | null): RotationPlan =>
      (l, g) =>
        l === cell.layer && g === cell.input ? searched : everyInputHadamard(model, l, g, cell.seed);
    const evals: Record<string, PlanEvaluation> = {};
    const baselines = { none: null, had: hadSpecOf(result), found: result.best };
    for (const [k, spec] of Object.entries(baselines)) {
      progress?.(`model check: W4A4 KLD with ${k} on ${name}`);
      evals[k] = evaluatePlan(model, ref.ids, ref.wins, ref.ref, plan(spec));
      metrics[`model_kld_${k}`] = evals[k]!.kld_mean;
      metrics[`model_ppl_${k}`] = evals[k]!.ppl;
      metrics[`model_top1_${k}`] = evals[k]!.top1;
    }
    const d = pairedDifference(evals.found!.kldPerToken, evals.had!.kldPerToken);
    metrics.model_kld_found_minus_had = d.mean;
    metrics.model_kld_found_minus_had_se = d.se;
    metrics.model_tokens_scored = evals.had!.tokens_scored;
    metrics.model_ppl_fp = evals.had!.ppl_base;
    timings.model_check_ms = performance.now() - t3;
  }
  timings.total_ms = performance.now() - t0;
  return {
    metrics,
    extra: {
      history: result.history.map((h) => ({
        restart: h.restart,
        phase: h.phase,
        generation: h.generation,
        best: h.best,
        mean: h.mean,
        diversity: h.diversity,
        best_error: h.bestError,
        structure: h.bestStructure,
        evaluations: h.evaluations,
      })),
      comparison: result.comparison,
      found_structure: found!.structure,
      best: result.best,
    },
    timings,
    seeds: { search: cell.seed, rows: cell.seed, baselines: cell.seed },
    files,
    backend: cell.backend,
  };
}

/** The full random Hadamard of the comparison (es-search's `baselineSpecs` for the cell's seed). */
function hadSpecOf(r: DiscoverResult): RotationSpec {
  return baselineSpecs(r.best.dim, r.seed)[1]!.spec;
}

/** The random Hadamard every other input gets in the model check (seeded per input, as es-search's study does). */
function everyInputHadamard(
  model: LoadedModel,
  layer: number,
  group: InputGroup,
  seed: number,
): RotationSpec {
  const L = model.weights.layers[layer]!;
  const dim: number = { attn: L.q, o: L.o, ffn: L.gate, down: L.down }[group].cols;
  return seededBlockHadamard(dim, dim, seed, `L${layer}.${group}`);
}

/**
 * For the registry: a discover row as one row per compared rotation (labels + `rotation`: none,
 * had, bhad<b>, found), metrics `search_error`, `holdout_error` and, with the model check,
 * `model_kld` — so a sweep's verdict pairs `{ rotation: found }` with `{ rotation: had }` like any
 * other treatment and baseline.
 */
export function discoverComparisonRows(row: ResultRow): ResultRow[] {
  const m = row.metrics;
  const block = `bhad${m.baseline_block}`;
  return (['none', 'had', 'block', 'found'] as const).map((k) => ({
    ...row,
    labels: { ...row.labels, rotation: k === 'block' ? block : k },
    metrics: {
      search_error: m[`search_${k}`]!,
      holdout_error: m[`holdout_${k}`]!,
      ...(m[`model_kld_${k}`] !== undefined ? { model_kld: m[`model_kld_${k}`]! } : {}),
    },
  }));
}

/**
 * One line per discover row: relative error of each rotation on the search / held-out rows, the
 * structure found, the held-out improvement over the random Hadamard and, with the model check, the
 * W4A4 KLD with the found rotation vs the random Hadamard on that input (paired difference ± SE).
 */
export function discoverTable(rows: ResultRow[], markdown = false): string {
  const d = rows.filter((r) => r.spec.study === 'discover');
  if (d.length === 0) return '';
  const sig = (v: number | undefined, d = 3) => (v === undefined || Number.isNaN(v) ? '–' : v.toPrecision(d));
  const pair = (r: ResultRow, k: string) =>
    `${sig(r.metrics[`search_${k}`])} / ${sig(r.metrics[`holdout_${k}`])}`;
  const withModel = d.some((r) => r.metrics.model_kld_had !== undefined);
  const header = [
    'model',
    'input',
    'target',
    'seed',
    'none',
    'had',
    'block',
    'found',
    'structure',
    'held-out found vs had',
    'evals',
    ...(withModel ? ['KLD had', 'KLD found', 'KLD found − had ± SE', 'KLD none'] : []),
  ];
  const body = d.map((r) => [
    r.labels.model!,
    `L${r.labels.layer}.${r.labels.input}`,
    r.labels.target!,
    r.labels.seed!,
    pair(r, 'none'),
    pair(r, 'had'),
    pair(r, 'block'),
    pair(r, 'found'),
    String((r.extra as { found_structure?: string } | undefined)?.found_structure ?? '–'),
    `${fmt(100 * r.metrics.holdout_found_vs_had!, 1)} %`,
    fmt(r.metrics.evaluations, 0),
    ...(withModel
      ? [
          sig(r.metrics.model_kld_had, 4),
          sig(r.metrics.model_kld_found, 4),
          `${sig(r.metrics.model_kld_found_minus_had, 2)} ± ${sig(r.metrics.model_kld_found_minus_had_se, 2)}`,
          sig(r.metrics.model_kld_none, 4),
        ]
      : []),
  ]);
  return renderTable(header, body, markdown);
}
