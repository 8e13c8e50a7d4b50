// Q1 — linear recoverability of one sub-layer's quantization error.

import type { SublayerKind } from './capture.js';
import { accumulateBlock } from './cpu/linalg.js';
import { quantizeCorrection } from './cpu/quantize-map.js';
import {
  DEFAULT_ALPHAS,
  fitRidgeCorrection,
  type LinearCorrection,
  type RowRanges,
  recoverability,
} from './cpu/ridge.js';

export type DepthThird = 'early' | 'mid' | 'late';

/** Depth position of a layer: (layer + ½)/nLayers; thirds split [0, 1) at ⅓ and ⅔. */
export function depthOf(layer: number, nLayers: number): { frac: number; third: DepthThird } {
  const frac = (layer + 0.5) / nLayers;
  return { frac, third: frac < 1 / 3 ? 'early' : frac < 2 / 3 ? 'mid' : 'late' };
}

/** Geometry of the error E = Y_fp − Y_q on a set of rows (all sign free, no fitting involved). */
export interface ErrorGeometry {
  /** ‖E‖ / ‖Y_fp‖. */
  relErr: number;
  errRms: number;
  outRms: number;
  /** rms(Y_q). */
  qRms: number;
  /** 1 − erank/d with erank = (tr C)² / ‖C‖²_F, C = EᵀE (participation ratio): 0 = isotropic, → 1 = one direction. */
  anisotropy: number;
  /** ⟨E, Y_q⟩ / (‖E‖·‖Y_q‖): how much the error points along the quantized output itself. */
  cosErrOut: number;
}

export function errorGeometry(
  yFp: Float32Array,
  yQ: Float32Array,
  d: number,
  rows: RowRanges,
): ErrorGeometry {
  const c = new Float64Array(d * d);
  let ee = 0;
  let ff = 0;
  let qq = 0;
  let eq = 0;
  let n = 0;
  const eb = new Float64Array(8 * d);
  for (const [r0, r1] of rows) {
    for (let r = r0; r < r1; r += 8) {
      const rows8 = Math.min(8, r1 - r);
      eb.fill(0);
      for (let b = 0; b < rows8; b++) {
        n++;
        for (let i = 0; i < d; i++) {
          const f = yFp[(r + b) * d + i]!;
          const q = yQ[(r + b) * d + i]!;
          const ei = f - q;
          eb[b * d + i] = ei;
          ee += ei * ei;
          ff += f * f;
          qq += q * q;
          eq += ei * q;
        }
      }
      // C += Σ e eᵀ over the block (upper triangle).
      accumulateBlock(eb, null, d, 0, c, null);
    }
  }
  let tr = 0;
  let fro = 0;
  for (let i = 0; i < d; i++) {
    tr += c[i * d + i]!;
    for (let k = i; k < d; k++) fro += (k === i ? 1 : 2) * c[i * d + k]! ** 2;
  }
  const erank = fro > 0 ? (tr * tr) / fro : d;
  const entries = n * d;
  return {
    relErr: ff > 0 ? Math.sqrt(ee / ff) : 0,
    errRms: Math.sqrt(ee / entries),
    outRms: Math.sqrt(ff / entries),
    qRms: Math.sqrt(qq / entries),
    anisotropy: 1 - erank / d,
    cosErrOut: ee > 0 && qq > 0 ? eq / Math.sqrt(ee * qq) : 0,
  };
}

/** One row of q1_layers.csv. */
export interface Q1UnitMetrics {
  layer: number;
  kind: SublayerKind;
  depthFrac: number;
  third: DepthThird;
  nTrain: number;
  nHeldOut: number;
  /** Geometry on the training rows. */
  relErr: number;
  anisotropy: number;
  cosErrOut: number;
  /** ‖E‖/‖Y_fp‖ on held-out rows. */
  relErrHeldOut: number;
  alpha: number;
  /** Held-out fractional error reductions (see README). */
  rLinFloat: number;
  rLinQ4: number;
  rLinQ4Map: number;
  rBiasOnly: number;
  correctability: number;
}

/**
 * correctability_score = e·(1 − √(1 − clamp(R_lin_q4, 0, 1))) with e = ‖E‖/‖Y_fp‖ on held-out rows:
 * the absolute drop of the sub-layer's relative output error that a 4-bit linear corrector buys
 * (‖E_after‖ = ‖E‖·√(1 − R)). 0 when the corrector does not help; at most e.
 */
export function correctabilityScore(relErr: number, rQ4: number): number {
  const r = Math.min(1, Math.max(0, rQ4));
  return relErr * (1 - Math.sqrt(1 - r));
}

export interface Q1Split {
  /** Training rows as cross-validation folds (their union is the training set). */
  folds: readonly RowRanges[];
  heldOut: RowRanges;
}

export interface Q1UnitResult {
  metrics: Q1UnitMetrics;
  /** The float ridge correction (fitted on all training folds). */
  corr: LinearCorrection;
  /** Its 4-bit residual-form version (what R_lin_q4 measures). */
  corrQ4: LinearCorrection;
}

const rowsIn = (r: RowRanges) => r.reduce((s, [a, b]) => s + b - a, 0);

/** Fits and scores the linear correction of one sub-layer. `alphas` as in fitRidgeCorrection. */
export function analyzeUnitQ1(
  yFp: Float32Array,
  yQ: Float32Array,
  d: number,
  split: Q1Split,
  where: { layer: number; kind: SublayerKind; nLayers: number },
  alphas: readonly number[] = DEFAULT_ALPHAS,
): Q1UnitResult {
  const e = new Float64Array(yFp.length);
  for (let i = 0; i < e.length; i++) e[i] = yFp[i]! - yQ[i]!;
  const train = split.folds.flat();
  const geo = errorGeometry(yFp, yQ, d, train);
  const geoHo = errorGeometry(yFp, yQ, d, split.heldOut);
  const corr = fitRidgeCorrection(yQ, e, d, d, split.folds, alphas);
  const corrQ4 = quantizeCorrection(corr, 4, 'residual');
  const corrQ4Map = quantizeCorrection(corr, 4, 'map');
  // Bias only: the mean training error added to every row.
  const meanE = new Float64Array(d);
  for (const [r0, r1] of train)
    for (let r = r0; r < r1; r++) for (let j = 0; j < d; j++) meanE[j]! += e[r * d + j];
  const nTrain = rowsIn(train);
  for (let j = 0; j < d; j++) meanE[j]! /= nTrain;
  const biasOnly = { ...corr, B: new Float64Array(d * d), bias: meanE };
  const rQ4 = recoverability(corrQ4, yQ, e, d, d, split.heldOut);
  const { frac, third } = depthOf(where.layer, where.nLayers);
  return {
    corr,
    corrQ4,
    metrics: {
      layer: where.layer,
      kind: where.kind,
      depthFrac: frac,
      third,
      nTrain,
      nHeldOut: rowsIn(split.heldOut),
      relErr: geo.relErr,
      anisotropy: geo.anisotropy,
      cosErrOut: geo.cosErrOut,
      relErrHeldOut: geoHo.relErr,
      alpha: corr.alpha,
      rLinFloat: recoverability(corr, yQ, e, d, d, split.heldOut),
      rLinQ4: rQ4,
      rLinQ4Map: recoverability(corrQ4Map, yQ, e, d, d, split.heldOut),
      rBiasOnly: recoverability(biasOnly, yQ, e, d, d, split.heldOut),
      correctability: correctabilityScore(geoHo.relErr, rQ4),
    },
  };
}
