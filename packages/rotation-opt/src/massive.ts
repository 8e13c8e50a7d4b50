import { NqInputError } from '@nq/core';
import type { RowQuantizer } from './quantizers.js';

/**
 * Massive-activation tokens (DFRot's observation: a few tokens — BOS, delimiters — carry activations
 * orders of magnitude above the rest, and random Hadamard handles them better than random orthogonal).
 *
 * Rule (parameter τ): token t is massive when ‖xₜ‖∞ > τ · median over tokens of ‖x‖∞.
 * Default τ = 10. Computed per activation matrix (one layer's input over the calibration tokens).
 */
export interface MassiveRule {
  /** Threshold τ on ‖xₜ‖∞ / median‖x‖∞ (default 10). */
  tau?: number;
}

export interface MassiveReport {
  tau: number;
  tokens: number;
  /** Number of massive tokens. */
  count: number;
  /** 1 for massive tokens, 0 otherwise (length tokens). */
  mask: Uint8Array;
  /** median over tokens of ‖xₜ‖∞. */
  medianInf: number;
  /** max over tokens of ‖xₜ‖∞ / median. */
  maxRatio: number;
  /** Channels that hold the ‖x‖∞ of the massive tokens, with how many massive tokens peak there (descending). */
  channels: { channel: number; tokens: number }[];
}

export function tokenInfNorms(x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows);
  for (let t = 0; t < rows; t++) {
    let m = 0;
    const o = t * cols;
    for (let j = 0; j < cols; j++) {
      const a = Math.abs(x[o + j]!);
      if (a > m) m = a;
    }
    out[t] = m;
  }
  return out;
}

export function findMassive(
  x: ArrayLike<number>,
  rows: number,
  cols: number,
  rule: MassiveRule = {},
): MassiveReport {
  const tau = rule.tau ?? 10;
  if (!(tau > 0) || !Number.isFinite(tau))
    throw new NqInputError('rule.tau', `is ${tau}`, 'Use a positive finite threshold, e.g. 10.');
  if (rows < 1 || x.length !== rows * cols)
    throw new NqInputError(
      'x',
      `has ${x.length} entries for ${rows} × ${cols}`,
      'Pass a non-empty row-major tokens × channels array.',
    );
  const inf = tokenInfNorms(x, rows, cols);
  const sorted = Float64Array.from(inf).sort();
  const mid = rows >> 1;
  const median = rows % 2 ? sorted[mid]! : 0.5 * (sorted[mid - 1]! + sorted[mid]!);
  const mask = new Uint8Array(rows);
  const byChannel = new Map<number, number>();
  let count = 0;
  for (let t = 0; t < rows; t++) {
    if (inf[t]! > tau * median) {
      mask[t] = 1;
      count++;
      const o = t * cols;
      let arg = 0;
      for (let j = 1; j < cols; j++) if (Math.abs(x[o + j]!) > Math.abs(x[o + arg]!)) arg = j;
      byChannel.set(arg, (byChannel.get(arg) ?? 0) + 1);
    }
  }
  const channels = [...byChannel.entries()]
    .map(([channel, tokens]) => ({ channel, tokens }))
    .sort((a, b) => b.tokens - a.tokens || a.channel - b.channel);
  return {
    tau,
    tokens: rows,
    count,
    mask,
    medianInf: median,
    maxRatio: median > 0 ? sorted[rows - 1]! / median : Number.POSITIVE_INFINITY,
    channels,
  };
}

/** Relative quantization error per token class: Σ‖xₜ − x̂ₜ‖² / Σ‖xₜ‖² over the class. */
export interface ClassError {
  massive: number;
  normal: number;
  all: number;
  nMassive: number;
  nNormal: number;
}

/**
 * Quantization error per class of an activation matrix `xr` that is already rotated (x·R); the
 * error of an orthogonal rotation is the same in the rotated and the original basis.
 */
export function classErrors(
  xr: Float32Array,
  rows: number,
  cols: number,
  mask: Uint8Array,
  quantize: RowQuantizer,
): ClassError {
  const q = new Float32Array(xr.length);
  quantize(xr, rows, cols, q);
  let em = 0;
  let nm = 0;
  let en = 0;
  let nn = 0;
  let cm = 0;
  for (let t = 0; t < rows; t++) {
    let e = 0;
    let s = 0;
    const o = t * cols;
    for (let j = 0; j < cols; j++) {
      const d = xr[o + j]! - q[o + j]!;
      e += d * d;
      s += xr[o + j]! * xr[o + j]!;
    }
    if (mask[t]) {
      em += e;
      nm += s;
      cm++;
    } else {
      en += e;
      nn += s;
    }
  }
  return {
    massive: cm ? em / nm : Number.NaN,
    normal: rows - cm ? en / nn : Number.NaN,
    all: (em + en) / (nm + nn),
    nMassive: cm,
    nNormal: rows - cm,
  };
}

/** Token weights for DFRot/AdaCodec: γ for massive tokens, 1 otherwise. */
export function tokenWeights(mask: Uint8Array, gamma: number): Float64Array {
  if (!(gamma >= 0) || !Number.isFinite(gamma))
    throw new NqInputError('gamma', `is ${gamma}`, 'Use a finite weight ≥ 0 for massive tokens, e.g. 100.');
  const w = new Float64Array(mask.length);
  for (let t = 0; t < mask.length; t++) w[t] = mask[t] ? gamma : 1;
  return w;
}
