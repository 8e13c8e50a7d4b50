import { assertMatrix, type Matrix, NqInputError, Rng } from '@nq/core';
import { type RotationSpec, rotate } from '@nq/hadamard';
import { CpuErrorEvaluator } from './cpu/evaluator.js';
import { allowedBlocks, fromRotationSpec } from './genome.js';
import type { LayerData, QuantTarget } from './types.js';

/*
 * The seed study's analyses as functions. Every rotation here is a block Hadamard with signs drawn
 * from Rng(seed).fork(label), so each figure can be reproduced from (seed, label).
 */

/** Single-stage block-b random Hadamard with signs from Rng(seed).fork(label). */
export function seededBlockHadamard(dim: number, block: number, seed: number, label: string): RotationSpec {
  return {
    version: 1,
    dim,
    stages: [{ kind: 'hadamard', block, signs: Array.from(new Rng(seed).fork(label).signs(dim)) }],
    meta: { generator: 'es-search seededBlockHadamard', seed, label },
  };
}

export interface SpectrumPoint {
  block: number;
  error: number;
  holdoutError?: number;
}

/**
 * Error vs block size: one random block-b Hadamard (signs fork `spectrum-b<b>`) for every allowed b
 * (1 = no rotation … dim = full). The error is the target's (see CpuErrorEvaluator).
 */
export function blockSpectrum(
  data: LayerData,
  target: QuantTarget,
  seed: number,
  holdout?: LayerData,
): SpectrumPoint[] {
  const ev = new CpuErrorEvaluator(data.x, data.w, target);
  const hev = holdout ? new CpuErrorEvaluator(holdout.x, holdout.w, target) : null;
  return allowedBlocks(data.x.cols).map((block) => {
    const spec = seededBlockHadamard(data.x.cols, block, seed, `spectrum-b${block}`);
    const p: SpectrumPoint = { block, error: ev.error(spec) };
    if (hev) p.holdoutError = hev.error(spec);
    return p;
  });
}

export interface LayerBestBlock {
  layer: string;
  dim: number;
  bestBlock: number;
  bestError: number;
  /** Error with no rotation and with the full random Hadamard, for scale. */
  identityError: number;
  fullError: number;
  spectrum: SpectrumPoint[];
}

/** The block with the lowest error for each layer (ties → the smaller, cheaper block). */
export function perLayerBestBlock(layers: LayerData[], target: QuantTarget, seed: number): LayerBestBlock[] {
  return layers.map((d) => {
    const spectrum = blockSpectrum(d, target, seed);
    let best = spectrum[0]!;
    for (const p of spectrum) if (p.error < best.error) best = p;
    return {
      layer: d.name,
      dim: d.x.cols,
      bestBlock: best.block,
      bestError: best.error,
      identityError: spectrum[0]!.error,
      fullError: spectrum.at(-1)!.error,
      spectrum,
    };
  });
}

export interface TransferRow {
  layer: string;
  /** The spec found on the source layer, applied here unchanged. */
  transferred: number;
  /** The same structure with fresh random signs (fork `transfer-<layer>`): is it the signs or the structure? */
  sameStructureRandomSigns: number;
  /** The full random Hadamard (fork `transfer-full-<layer>`). */
  fullRandomHadamard: number;
}

/**
 * Transfer of signs found on one layer to the others: applies `spec` (found on `source`) to every layer
 * of the same dimension and compares with the same structure under random signs, and with the full
 * random Hadamard. Layers of another dimension are skipped.
 */
export function signTransfer(
  spec: RotationSpec,
  layers: LayerData[],
  target: QuantTarget,
  seed: number,
): TransferRow[] {
  const g = fromRotationSpec(spec);
  const rows: TransferRow[] = [];
  for (const d of layers) {
    if (d.x.cols !== spec.dim) continue;
    const ev = new CpuErrorEvaluator(d.x, d.w, target);
    const rng = new Rng(seed).fork(`transfer-${d.name}`);
    const random: RotationSpec = {
      version: 1,
      dim: spec.dim,
      stages: g.stages.map((s) => ({
        kind: 'hadamard' as const,
        block: s.block,
        signs: Array.from(rng.signs(spec.dim)),
      })),
    };
    rows.push({
      layer: d.name,
      transferred: ev.error(spec),
      sameStructureRandomSigns: ev.error(random),
      fullRandomHadamard: ev.error(
        seededBlockHadamard(spec.dim, Math.max(...allowedBlocks(spec.dim)), seed, `transfer-full-${d.name}`),
      ),
    });
  }
  return rows;
}

/** Statistics of a tokens × channels activation matrix (what makes per-token quantization hard). */
export interface ActivationStats {
  /** Pearson kurtosis E[(x−μ)⁴]/σ⁴ of all entries pooled (Gaussian = 3). */
  kurtosis: number;
  /** max|x| / mean|x| over all entries. */
  maxOverMean: number;
  /** Mean over tokens of 20·log10(max_j|x_tj| / rms_j(x_tj)) — the per-token crest factor in dB, i.e. how much of an INT grid the largest entry wastes. */
  dynamicRangeDb: number;
  maxAbs: number;
}

export function activationStats(x: Matrix, name = 'x'): ActivationStats {
  assertMatrix(x, name);
  const n = x.data.length;
  if (n === 0) throw new NqInputError(name, 'is empty', 'Pass at least one token.');
  let sum = 0;
  let sumAbs = 0;
  let maxAbs = 0;
  for (let i = 0; i < n; i++) {
    const v = x.data[i]!;
    sum += v;
    const a = Math.abs(v);
    sumAbs += a;
    if (a > maxAbs) maxAbs = a;
  }
  const mu = sum / n;
  let m2 = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = x.data[i]! - mu;
    const d2 = d * d;
    m2 += d2;
    m4 += d2 * d2;
  }
  m2 /= n;
  m4 /= n;
  let crest = 0;
  let counted = 0;
  for (let t = 0; t < x.rows; t++) {
    let mx = 0;
    let ss = 0;
    for (let j = 0; j < x.cols; j++) {
      const v = x.data[t * x.cols + j]!;
      ss += v * v;
      const a = Math.abs(v);
      if (a > mx) mx = a;
    }
    if (ss > 0) {
      crest += 20 * Math.log10(mx / Math.sqrt(ss / x.cols));
      counted++;
    }
  }
  return {
    kurtosis: m2 > 0 ? m4 / (m2 * m2) : 0,
    maxOverMean: sumAbs > 0 ? maxAbs / (sumAbs / n) : 0,
    dynamicRangeDb: counted > 0 ? crest / counted : 0,
    maxAbs,
  };
}

/** Activation statistics of x and of x·R. */
export function activationStatsRotated(
  x: Matrix,
  spec: RotationSpec,
): { before: ActivationStats; after: ActivationStats } {
  return { before: activationStats(x), after: activationStats(rotate(x, spec)) };
}
