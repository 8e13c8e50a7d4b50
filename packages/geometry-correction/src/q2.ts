// Q2 — can statistics predict the correction? Features, predictors and their held-out scores.

import type { Matrix } from '@nq/core';
import { fakeQuantInt } from '@nq/quant-int4';
import type { InputStats, SublayerKind } from './capture.js';
import { affineSse, type ChannelStats, channelStats, oracleAffine, totalSse } from './cpu/channel-stats.js';
import { type CorrectorUnit, trainCorrector } from './cpu/corrector.js';
import type { RowRanges } from './cpu/ridge.js';
import type { ErrorGeometry } from './q1.js';

/**
 * The quantization-time statistics fed to the features-only predictor, per output channel j of a
 * sub-layer u, all measured on the training windows (or on the weights). Every one is sign free: a
 * signed per-channel error mean would hand the predictor the per-channel bias itself (that is the
 * 'oracle' row, reported separately), turning prediction into calibration.
 */
export const Q2_FEATURES = [
  'ch_log_err_share', //        log(rms(e_j) / rms(E_u)): this channel's share of the unit's error
  'ch_log_out_share', //        log(rms(y_q,j) / rms(Y_q,u)): this channel's output scale
  'ch_log_kurt_out', //         log E[y_q,j⁴]/E[y_q,j²]²: tail weight of the channel's output
  'ch_log_kurt_err', //         log E[e_j⁴]/E[e_j²]²: tail weight of the channel's error
  'ch_w_log_max_over_rms', //   log(max|W_j| / rms(W_j)) of the float weight row j (o_proj / down_proj): 4-bit difficulty
  'ch_w_q4_rel_err', //         ‖W_j − Q4(W_j)‖/‖W_j‖ with per-row symmetric 4-bit RTN
  'unit_log_rel_err', //        log(‖E_u‖/‖Y_fp,u‖)
  'unit_anisotropy', //         1 − erank(EᵀE)/d (participation ratio)
  'unit_cos_err_out', //        ⟨E, Y_q⟩/(‖E‖·‖Y_q‖)
  'unit_in_log_max_over_rms', // log mean_t max|x_t|/rms(x_t) of the linear's input (A4 per-token difficulty)
  'unit_in_log_kurtosis', //    log E[x⁴]/E[x²]² of the linear's input
] as const;

export type Q2Variant = 'none' | 'embedding' | 'features' | 'both' | 'oracle';
export const Q2_VARIANTS: readonly Q2Variant[] = ['none', 'embedding', 'features', 'both', 'oracle'];

export interface Q2UnitInput {
  layer: number;
  kind: SublayerKind;
  d: number;
  yFp: Float32Array;
  yQ: Float32Array;
  /** The sub-layer's float weight (o_proj or down_proj), [d, in]. */
  weight: Matrix;
  /** Input statistics of the training windows, merged. */
  input: InputStats;
  /** Error geometry on the training rows (from Q1). */
  geometry: ErrorGeometry;
}

export interface Q2UnitRow {
  layer: number;
  kind: SublayerKind;
  variant: Q2Variant;
  /** Held-out ‖E − Ê‖²/‖E‖² (1 = no gain). */
  heldOutRelMse: number;
  /** Held-out mean squared error per entry after correction. */
  heldOutMse: number;
  trainRelMse: number;
}

export interface Q2Result {
  rows: Q2UnitRow[];
  /** Mean over units of heldOutRelMse, per variant. */
  mse: Record<Q2Variant, number>;
  /** The per-channel affine corrections (a, b) per variant and unit, to apply downstream. */
  corrections: Record<Q2Variant, { a: Float64Array[]; b: Float64Array[] }>;
}

function channelFeatures(u: Q2UnitInput, train: RowRanges): Float64Array {
  const { d, yFp, yQ, weight } = u;
  const F = Q2_FEATURES.length;
  const q2 = new Float64Array(d);
  const q4 = new Float64Array(d);
  const e2 = new Float64Array(d);
  const e4 = new Float64Array(d);
  let n = 0;
  for (const [r0, r1] of train) {
    for (let r = r0; r < r1; r++) {
      for (let j = 0; j < d; j++) {
        const q = yQ[r * d + j]!;
        const e = yFp[r * d + j]! - q;
        q2[j]! += q * q;
        q4[j]! += q * q * q * q;
        e2[j]! += e * e;
        e4[j]! += e * e * e * e;
      }
    }
    n += r1 - r0;
  }
  let q2all = 0;
  let e2all = 0;
  for (let j = 0; j < d; j++) {
    q2all += q2[j]!;
    e2all += e2[j]!;
  }
  const wq = fakeQuantInt(
    weight,
    { format: 'int', bits: 4, granularity: 'token', symmetric: true },
    'weight',
  );
  const K = weight.cols;
  const tiny = 1e-30;
  const inp = u.input;
  const inMean2 = inp.s2 / Math.max(1, inp.entries);
  const unit = [
    Math.log(u.geometry.relErr + tiny),
    u.geometry.anisotropy,
    u.geometry.cosErrOut,
    Math.log(inp.sumMaxOverRms / Math.max(1, inp.tokens) + tiny),
    Math.log(inp.s4 / Math.max(1, inp.entries) / (inMean2 * inMean2 + tiny) + tiny),
  ];
  const out = new Float64Array(d * F);
  for (let j = 0; j < d; j++) {
    let wmax = 0;
    let w2 = 0;
    let dw2 = 0;
    for (let k = 0; k < K; k++) {
      const v = weight.data[j * K + k]!;
      wmax = Math.max(wmax, Math.abs(v));
      w2 += v * v;
      const dv = v - wq.data[j * K + k]!;
      dw2 += dv * dv;
    }
    const m2q = q2[j]! / n;
    const m2e = e2[j]! / n;
    const f = [
      0.5 * Math.log((e2[j]! * d) / (e2all + tiny) + tiny),
      0.5 * Math.log((q2[j]! * d) / (q2all + tiny) + tiny),
      Math.log(q4[j]! / n / (m2q * m2q + tiny) + tiny),
      Math.log(e4[j]! / n / (m2e * m2e + tiny) + tiny),
      Math.log(wmax / Math.sqrt(w2 / K + tiny) + tiny),
      Math.sqrt(dw2 / (w2 + tiny)),
      ...unit,
    ];
    out.set(f, j * F);
  }
  return out;
}

/** z-scores each feature column over all (unit, channel) rows; a constant column becomes 0. */
function standardize(features: Float64Array[], F: number): void {
  for (let f = 0; f < F; f++) {
    let s = 0;
    let s2 = 0;
    let n = 0;
    for (const x of features) {
      for (let i = f; i < x.length; i += F) {
        s += x[i]!;
        s2 += x[i]! * x[i]!;
        n++;
      }
    }
    const m = s / n;
    const sd = Math.sqrt(Math.max(0, s2 / n - m * m));
    for (const x of features)
      for (let i = f; i < x.length; i += F) x[i] = sd > 1e-12 * (Math.abs(m) + 1) ? (x[i]! - m) / sd : 0;
  }
}

function relMse(st: ChannelStats, a: Float64Array, b: Float64Array): { rel: number; mse: number } {
  let s = 0;
  for (let j = 0; j < st.d; j++) s += affineSse(st, j, a[j]!, b[j]!);
  const base = totalSse(st);
  return { rel: base > 0 ? s / base : 1, mse: s / (st.n * st.d) };
}

export interface Q2Options {
  seed: number;
  iterations?: number;
  hidden?: number;
}

/** Trains the three predictors (embedding / features / both) plus the oracle, scores them on held-out rows. */
export function runQ2(units: Q2UnitInput[], train: RowRanges, heldOut: RowRanges, opts: Q2Options): Q2Result {
  const F = Q2_FEATURES.length;
  const trainStats = units.map((u) => channelStats(u.yFp, u.yQ, u.d, train));
  const hoStats = units.map((u) => channelStats(u.yFp, u.yQ, u.d, heldOut));
  const feats = units.map((u) => channelFeatures(u, train));
  standardize(feats, F);
  const cu: CorrectorUnit[] = units.map((u, i) => {
    const g = u.geometry;
    return {
      train: trainStats[i]!,
      features: feats[i]!,
      rho: g.qRms > 0 ? g.errRms / g.qRms : 0,
      sigma: g.errRms,
    };
  });
  const zeros = () => units.map((u) => new Float64Array(u.d));
  const corrections = {} as Q2Result['corrections'];
  corrections.none = { a: zeros(), b: zeros() };
  const common = { featureCount: F, seed: opts.seed, iterations: opts.iterations, hidden: opts.hidden };
  for (const [variant, useEmbedding, useFeatures] of [
    ['embedding', true, false],
    ['features', false, true],
    ['both', true, true],
  ] as const) {
    const t = trainCorrector(cu, { ...common, useEmbedding, useFeatures });
    corrections[variant] = { a: t.a, b: t.b };
  }
  const oracle = trainStats.map((s) => oracleAffine(s));
  corrections.oracle = { a: oracle.map((o) => o.a), b: oracle.map((o) => o.b) };

  const rows: Q2UnitRow[] = [];
  const mse = {} as Record<Q2Variant, number>;
  for (const v of Q2_VARIANTS) {
    let sum = 0;
    units.forEach((u, i) => {
      const { a, b } = corrections[v];
      const ho = relMse(hoStats[i]!, a[i]!, b[i]!);
      const tr = relMse(trainStats[i]!, a[i]!, b[i]!);
      sum += ho.rel;
      rows.push({
        layer: u.layer,
        kind: u.kind,
        variant: v,
        heldOutRelMse: ho.rel,
        heldOutMse: ho.mse,
        trainRelMse: tr.rel,
      });
    });
    mse[v] = sum / units.length;
  }
  return { rows, mse, corrections };
}
