// One setting of the study: one model × one seed → Q1 and Q2 metrics and both verdicts.

import { NqInputError } from '@nq/core';
import { prepareRecipe, type RecipeSpec, resolveRecipe } from '@nq/eval-ppl';
import type { LoadedModel } from '@nq/model';
import { sampleCalibrationWindows, splitWindows } from './calib.js';
import {
  captureSublayers,
  emptyStats,
  type InputStats,
  SUBLAYER_LINEAR,
  unitIndex,
  withSublayerHook,
} from './capture.js';
import { applyLinearCorrection, DEFAULT_ALPHAS, type LinearCorrection, type RowRanges } from './cpu/ridge.js';
import { meanNll } from './downstream.js';
import { analyzeUnitQ1, errorGeometry, type Q1UnitMetrics } from './q1.js';
import { type Q2UnitRow, type Q2Variant, runQ2 } from './q2.js';
import { median, spearman } from './stats.js';
import { type Verdict, verdictQ1, verdictQ2 } from './verdict.js';

export interface SettingOptions {
  /** Label of the model in the outputs (e.g. the folder name). */
  name: string;
  model: LoadedModel;
  seed: number;
  /** Calibration text (documents separated by ASCII RS) and the model's tokenizer. */
  calibText: string;
  encode: (s: string) => ArrayLike<number>;
  /** Quantization recipe (an @nq/eval-ppl name or RecipeSpec); default 'w4a4-rtn-token'. */
  recipe?: string | RecipeSpec;
  /** Seed of the recipe's rotations, if it has any (fixed, so seeds vary only the sample and the fits). */
  recipeSeed?: number;
  windows?: number;
  windowLength?: number;
  heldOutWindows?: number;
  /** Cross-validation folds over the training windows for the ridge α (default 4). */
  folds?: number;
  alphas?: readonly number[];
  correctorIterations?: number;
  /** Progress: called after each phase with its wall time in seconds (not part of any result). */
  onPhase?: (phase: string, seconds: number) => void;
}

export interface SettingSummary {
  model: string;
  dModel: number;
  nLayers: number;
  seed: number;
  recipe: string;
  windows: number;
  windowLength: number;
  trainTokens: number;
  heldOutTokens: number;
  units: number;
  medianRelErr: number;
  medianRLinFloat: number;
  medianRLinQ4: number;
  medianRLinQ4Map: number;
  medianRBiasOnly: number;
  medianCorrectability: number;
  /** Spearman over the setting's sub-layers of (error anisotropy, R_lin_q4): the verdict's ρ. */
  spearmanAnisotropy: number;
  spearmanRelErr: number;
  spearmanCosErrOut: number;
  spearmanDepth: number;
  verdictQ1: Verdict;
  mseNone: number;
  mseEmbedding: number;
  mseFeatures: number;
  mseBoth: number;
  mseOracle: number;
  lossFp: number;
  lossQ: number;
  gainEmbedding: number;
  gainFeatures: number;
  gainBoth: number;
  gainOracle: number;
  gainQ1Q4: number;
  verdictQ2: Verdict;
}

export interface SettingResult {
  summary: SettingSummary;
  q1: Q1UnitMetrics[];
  q2: Q2UnitRow[];
}

const windowRows = (idx: number[], T: number): RowRanges => idx.map((w) => [w * T, (w + 1) * T] as const);

function mergeStats(list: InputStats[], idx: number[]): InputStats {
  const s = emptyStats();
  for (const i of idx) {
    const x = list[i]!;
    s.tokens += x.tokens;
    s.sumMaxOverRms += x.sumMaxOverRms;
    s.s2 += x.s2;
    s.s4 += x.s4;
    s.entries += x.entries;
  }
  return s;
}

export function runSetting(opts: SettingOptions): SettingResult {
  const nWin = opts.windows ?? 16;
  const T = opts.windowLength ?? 128;
  const nHo = opts.heldOutWindows ?? 4;
  const nFolds = opts.folds ?? 4;
  const model = opts.model;
  const c = model.config;
  let tPhase = performance.now();
  const phase = (name: string) => {
    const now = performance.now();
    opts.onPhase?.(name, (now - tPhase) / 1000);
    tPhase = now;
  };
  if (T > c.seqLen)
    throw new NqInputError(
      'windowLength',
      `${T} exceeds the model context ${c.seqLen}`,
      `Use at most ${c.seqLen}.`,
    );
  const spec = resolveRecipe(opts.recipe ?? 'w4a4-rtn-token', opts.recipeSeed ?? 0);
  const prep = prepareRecipe(model, spec);

  const windows = sampleCalibrationWindows(opts.calibText, opts.encode, {
    windows: nWin,
    length: T,
    seed: opts.seed,
  });
  const split = splitWindows(nWin, nHo, nFolds, opts.seed);
  const foldRows = split.folds.map((f) => windowRows(f, T));
  const hoRows = windowRows(split.heldOut, T);
  const trainIdx = split.train;
  const trainRows = windowRows(trainIdx, T);

  phase('sample');
  const fp = captureSublayers(model, undefined, windows);
  const q = captureSublayers(prep.model, prep.hooks, windows);
  phase('capture');

  // Q1, unit by unit.
  const q1: Q1UnitMetrics[] = [];
  const maps: LinearCorrection[] = [];
  for (let u = 0; u < fp.units.length; u++) {
    const f = fp.units[u]!;
    const r = analyzeUnitQ1(
      f.y,
      q.units[u]!.y,
      c.dim,
      { folds: foldRows, heldOut: hoRows },
      {
        layer: f.layer,
        kind: f.kind,
        nLayers: c.nLayers,
      },
      opts.alphas ?? DEFAULT_ALPHAS,
    );
    q1.push(r.metrics);
    maps.push(r.corrQ4);
  }

  phase('q1');
  // Q2 on the same split (all training windows).
  const q2 = runQ2(
    fp.units.map((f, u) => ({
      layer: f.layer,
      kind: f.kind,
      d: c.dim,
      yFp: f.y,
      yQ: q.units[u]!.y,
      weight: model.weights.layers[f.layer]![SUBLAYER_LINEAR[f.kind]],
      input: mergeStats(q.units[u]!.input, trainIdx),
      geometry: errorGeometry(f.y, q.units[u]!.y, c.dim, trainRows),
    })),
    trainRows,
    hoRows,
    { seed: opts.seed, iterations: opts.correctorIterations },
  );

  phase('q2');
  // Downstream loss on the held-out windows, with each correction applied inside the quantized model.
  const ho = split.heldOut.map((i) => windows[i]!);
  // Every loss goes through the same sub-layer hook path (an identity visitor for fp and q), so
  // differences come from the corrections only, not from which GEMM kernel computed o/down.
  const identity = () => {};
  const lossFp = meanNll(model, withSublayerHook(undefined, identity), ho);
  const lossQ = meanNll(prep.model, withSublayerHook(prep.hooks, identity), ho);
  const lossAffine = (v: Q2Variant) => {
    const { a, b } = q2.corrections[v];
    return meanNll(
      prep.model,
      withSublayerHook(prep.hooks, (layer, kind, y) => {
        const u = unitIndex(layer, kind);
        const au = a[u]!;
        const bu = b[u]!;
        const d = au.length;
        for (let i = 0; i < y.length; i++) {
          const j = i % d;
          y[i] = y[i]! * (1 + au[j]!) + bu[j]!;
        }
      }),
      ho,
    );
  };
  const lossQ1 = meanNll(
    prep.model,
    withSublayerHook(prep.hooks, (layer, kind, y) =>
      applyLinearCorrection(maps[unitIndex(layer, kind)]!, y, y.length / c.dim),
    ),
    ho,
  );

  phase('downstream');
  const rq4 = q1.map((m) => m.rLinQ4);
  const summary: SettingSummary = {
    model: opts.name,
    dModel: c.dim,
    nLayers: c.nLayers,
    seed: opts.seed,
    recipe: spec.name,
    windows: nWin,
    windowLength: T,
    trainTokens: trainIdx.length * T,
    heldOutTokens: nHo * T,
    units: q1.length,
    medianRelErr: median(q1.map((m) => m.relErr)),
    medianRLinFloat: median(q1.map((m) => m.rLinFloat)),
    medianRLinQ4: median(rq4),
    medianRLinQ4Map: median(q1.map((m) => m.rLinQ4Map)),
    medianRBiasOnly: median(q1.map((m) => m.rBiasOnly)),
    medianCorrectability: median(q1.map((m) => m.correctability)),
    spearmanAnisotropy: spearman(
      q1.map((m) => m.anisotropy),
      rq4,
    ),
    spearmanRelErr: spearman(
      q1.map((m) => m.relErr),
      rq4,
    ),
    spearmanCosErrOut: spearman(
      q1.map((m) => m.cosErrOut),
      rq4,
    ),
    spearmanDepth: spearman(
      q1.map((m) => m.depthFrac),
      rq4,
    ),
    verdictQ1: 'unclear',
    mseNone: q2.mse.none,
    mseEmbedding: q2.mse.embedding,
    mseFeatures: q2.mse.features,
    mseBoth: q2.mse.both,
    mseOracle: q2.mse.oracle,
    lossFp,
    lossQ,
    gainEmbedding: lossQ - lossAffine('embedding'),
    gainFeatures: lossQ - lossAffine('features'),
    gainBoth: lossQ - lossAffine('both'),
    gainOracle: lossQ - lossAffine('oracle'),
    gainQ1Q4: lossQ - lossQ1,
    verdictQ2: 'unclear',
  };
  summary.verdictQ1 = verdictQ1(summary.medianRLinQ4, summary.spearmanAnisotropy);
  summary.verdictQ2 = verdictQ2({
    mseEmb: summary.mseEmbedding,
    mseFeat: summary.mseFeatures,
    gainEmb: summary.gainEmbedding,
    gainFeat: summary.gainFeatures,
    gainBoth: summary.gainBoth,
  });
  return { summary, q1, q2: q2.rows };
}
