import fs from 'node:fs';
import { runSetting, type SettingSummary } from '@nq/geometry-correction';
import { fmt, renderTable } from '../report/table.js';
import type { ResultRow } from '../store/row.js';
import type { GeometryCell } from '../sweep/cell.js';
import { loadCellModel } from './cell-model.js';
import type { CellOutcome, KernelMemo } from './kernel-study.js';

/** SettingSummary's numeric fields as row metrics (snake_case), in the package's order. */
const METRICS: [keyof SettingSummary, string][] = [
  ['dModel', 'd_model'],
  ['nLayers', 'n_layers'],
  ['trainTokens', 'train_tokens'],
  ['heldOutTokens', 'held_out_tokens'],
  ['units', 'units'],
  ['medianRelErr', 'median_rel_err'],
  ['medianRLinFloat', 'median_r_lin_float'],
  ['medianRLinQ4', 'median_r_lin_q4'],
  ['medianRLinQ4Map', 'median_r_lin_q4_map'],
  ['medianRBiasOnly', 'median_r_bias_only'],
  ['medianCorrectability', 'median_correctability'],
  ['spearmanAnisotropy', 'rho_anisotropy'],
  ['spearmanRelErr', 'rho_rel_err'],
  ['spearmanCosErrOut', 'rho_cos_err_out'],
  ['spearmanDepth', 'rho_depth'],
  ['mseNone', 'mse_none'],
  ['mseEmbedding', 'mse_embedding'],
  ['mseFeatures', 'mse_features'],
  ['mseBoth', 'mse_both'],
  ['mseOracle', 'mse_oracle'],
  ['lossFp', 'loss_fp'],
  ['lossQ', 'loss_q'],
  ['gainEmbedding', 'gain_embedding'],
  ['gainFeatures', 'gain_features'],
  ['gainBoth', 'gain_both'],
  ['gainOracle', 'gain_oracle'],
  ['gainQ1Q4', 'gain_q1_q4'],
];

/**
 * A geometry cell: one setting (model × seed) of @nq/geometry-correction's study through its
 * `runSetting` — Q1, how much of each sub-layer's W4A4 output error a ridge map removes on held-out
 * windows (float and 4-bit), and Q2, whether quantization-time statistics predict a per-channel
 * correction better than a layer embedding, with the downstream loss of every corrector. Its summary
 * numbers are the row's metrics (names in METRICS); the package's own verdicts (supported / refuted /
 * unclear by its rules) and the per-sub-layer Q1 numbers go to `extra`. Same options and seed as the
 * package's study ⇒ the same numbers as its README table.
 */
export async function runGeometryCell(
  cell: GeometryCell,
  memo: KernelMemo,
  progress?: (msg: string) => void,
): Promise<CellOutcome> {
  const t0 = performance.now();
  const { modelFile, textFile, tokFile, model, tok } = await loadCellModel(cell, 'geometry.models', memo);
  const calibText = await memo.pinnedAsync(`text:${cell.text}`, async () =>
    fs.readFileSync(textFile, 'utf8'),
  );
  const name = modelFile
    .split('/')
    .pop()!
    .replace(/\.(bin|gguf|safetensors)$/, '');
  const t1 = performance.now();
  const phases: Record<string, number> = {};
  const r = runSetting({
    name,
    model,
    seed: cell.seed,
    calibText,
    encode: (s) => tok.encode(s),
    recipe: cell.recipe,
    windows: cell.windows,
    windowLength: cell.window_length,
    heldOutWindows: cell.held_out_windows,
    folds: cell.folds,
    correctorIterations: cell.corrector_iterations,
    onPhase: (phase, seconds) => {
      phases[`${phase.replace(/[^a-z0-9]+/gi, '_').toLowerCase()}_ms`] = seconds * 1000;
      progress?.(`${phase} done (${seconds.toFixed(1)} s)`);
    },
  });
  const metrics: Record<string, number> = {};
  for (const [k, m] of METRICS) metrics[m] = r.summary[k] as number;
  return {
    metrics,
    extra: {
      verdict_q1: r.summary.verdictQ1,
      verdict_q2: r.summary.verdictQ2,
      q1_units: r.q1.map((u) => ({
        layer: u.layer,
        kind: u.kind,
        r_lin_float: u.rLinFloat,
        r_lin_q4: u.rLinQ4,
        rel_err: u.relErr,
      })),
    },
    timings: { load_ms: t1 - t0, ...phases, total_ms: performance.now() - t0 },
    seeds: { setting: cell.seed },
    files: [modelFile, textFile, tokFile],
    backend: 'cpu',
  };
}

/**
 * For the registry: a geometry row as one row per corrector (labels + `corrector`), with
 * `heldout_rel_mse` = held-out ‖E − Ê‖²/‖E‖² (none: 1; Q1's ridge maps: 1 − median R over sub-layers;
 * Q2's predictors: mean over sub-layers) and `loss` = held-out next-token NLL with the correction
 * (none: the quantized model's). Verdicts pair e.g. `{ corrector: ridge-q4 }` with `{ corrector: none }`.
 */
export function geometryComparisonRows(row: ResultRow): ResultRow[] {
  const m = row.metrics;
  const lossQ = m.loss_q!;
  const one = (corrector: string, rel: number, loss?: number): ResultRow => ({
    ...row,
    labels: { ...row.labels, corrector },
    metrics: { heldout_rel_mse: rel, ...(loss !== undefined ? { loss } : {}) },
  });
  return [
    one('none', 1, lossQ),
    one('bias-only', 1 - m.median_r_bias_only!),
    one('ridge-float', 1 - m.median_r_lin_float!),
    one('ridge-q4', 1 - m.median_r_lin_q4!, lossQ - m.gain_q1_q4!),
    one('ridge-q4-map', 1 - m.median_r_lin_q4_map!),
    one('embedding', m.mse_embedding!, lossQ - m.gain_embedding!),
    one('features', m.mse_features!, lossQ - m.gain_features!),
    one('both', m.mse_both!, lossQ - m.gain_both!),
    one('oracle', m.mse_oracle!, lossQ - m.gain_oracle!),
  ];
}

/**
 * One line per geometry row (model × seed), the package's summary columns: median relative error,
 * median held-out R_lin (float, 4-bit) and ρ(anisotropy, R_lin_q4) with its Q1 verdict; held-out
 * correction MSE of the embedding / features / oracle predictors, downstream loss and the gain of
 * the feature predictor and of Q1's 4-bit map with its Q2 verdict.
 */
export function geometryTable(rows: ResultRow[], markdown = false): string {
  const g = rows.filter((r) => r.spec.study === 'geometry');
  if (g.length === 0) return '';
  const header = [
    'model',
    'd',
    'L',
    'seed',
    'med rel err',
    'med R_lin_float',
    'med R_lin_q4',
    'ρ(aniso, R_q4)',
    'Q1',
    'MSE emb',
    'MSE feat',
    'MSE oracle',
    'loss fp',
    'loss q',
    'gain feat',
    'gain Q1-q4',
    'Q2',
  ];
  const body = g.map((r) => {
    const m = r.metrics;
    const x = (r.extra ?? {}) as { verdict_q1?: string; verdict_q2?: string };
    return [
      r.labels.model!,
      fmt(m.d_model, 0),
      fmt(m.n_layers, 0),
      r.labels.seed!,
      fmt(m.median_rel_err, 3),
      fmt(m.median_r_lin_float, 3),
      fmt(m.median_r_lin_q4, 3),
      fmt(m.rho_anisotropy, 3),
      x.verdict_q1 ?? '–',
      fmt(m.mse_embedding, 3),
      fmt(m.mse_features, 3),
      fmt(m.mse_oracle, 3),
      fmt(m.loss_fp, 4),
      fmt(m.loss_q, 4),
      fmt(m.gain_features, 4),
      fmt(m.gain_q1_q4, 4),
      x.verdict_q2 ?? '–',
    ];
  });
  return renderTable(header, body, markdown);
}
