import { NqInputError } from '@nq/core';
import {
  type BlockOrthogonal,
  blockOrthogonalityError,
  blockRandomHadamard,
  blockTranspose,
  cayleySkew,
  cayleyStepInPlace,
} from './cayley.js';
import type { RowQuantizer } from './quantizers.js';

/**
 * AdaCodec: a block-diagonal orthogonal encoder E and decoder D around activation quantization,
 *   X̂ = Q(X·E)·D,
 * trained on calibration activations to minimise the weighted reconstruction error
 *   L(E, D) = Σₜ wₜ‖Q(xₜE)·D − xₜ‖² / Σₜ wₜ‖xₜ‖²
 * on the Stiefel manifold (each b × b block orthogonal) with Cayley-transform steps. The quantizer is
 * passed straight through (STE): ∂Q(z)/∂z := I, so with G = diag(w)(X̂ − X):
 *   ∂L/∂D_k = Ẑ_kᵀ·G_k,   ∂L/∂E_k = X_kᵀ·(G·Dᵀ)_k     (k = block, up to the constant 2/Σwₜ‖xₜ‖²).
 * Both start as the same block random Hadamard (D = Eᵀ, so X̂ = Q(XE)Eᵀ: a plain rotation). Steps
 * use τ = lr / max_k‖A_k‖_F (A the Cayley skew matrix) for E and D with a cosine-decayed step angle;
 * the STE direction is not always a descent direction of the real (quantized) loss, so the codec
 * with the smallest real loss over all iterates is returned (or, with schedule 'monotone', only
 * steps that lower the real loss are kept).
 * At inference E runs online on the linear's input and D is fused into the weight: W' = W·Dᵀ.
 */
export interface AdaCodecOptions {
  /** Block size b (divides n; default 64). */
  block?: number;
  /** Seed of the block random Hadamard initialisation (default 0). */
  seed?: number;
  /** Cayley steps (default 60). */
  iterations?: number;
  /** Initial step angle (default 0.05). */
  lr?: number;
  /** Per-token weights (e.g. γ for massive tokens); default all 1. */
  weights?: Float64Array | null;
  /** Train the decoder too (default true); false keeps D at its initial value Eᵀ₀. */
  trainDecoder?: boolean;
  /**
   * 'cosine' (default): every step taken, step angle lr·(1 + cos(πi/N))/2, the best iterate returned;
   * 'monotone': a step is kept only when the loss decreases (lr ×1.2), else rejected (lr ×0.5).
   */
  schedule?: 'cosine' | 'monotone';
  onIteration?: (it: number, loss: number, lr: number) => void;
}

export interface AdaCodecResult {
  enc: BlockOrthogonal;
  dec: BlockOrthogonal;
  /** loss[0] at init, loss[i] after step i (unchanged when a 'monotone' step was rejected). */
  loss: number[];
  /** Index into `loss` of the returned (best) codec. */
  best: number;
  accepted: number;
  seconds: number;
}

/** out = X·B for a block-diagonal B (rows × n, float32). */
export function blockApply(
  x: Float32Array,
  rows: number,
  b: BlockOrthogonal,
  out: Float32Array = new Float32Array(rows * b.n),
  transpose = false,
): Float32Array {
  const { n, block, blocks } = b;
  const bb = block * block;
  const acc = new Float64Array(block);
  for (let t = 0; t < rows; t++) {
    const o = t * n;
    for (let k = 0; k < n / block; k++) {
      acc.fill(0);
      const c0 = k * block;
      const bo = k * bb;
      for (let i = 0; i < block; i++) {
        const xi = x[o + c0 + i]!;
        if (xi === 0) continue;
        if (transpose) for (let j = 0; j < block; j++) acc[j]! += xi * blocks[bo + j * block + i]!;
        else {
          const ro = bo + i * block;
          for (let j = 0; j < block; j++) acc[j]! += xi * blocks[ro + j]!;
        }
      }
      for (let j = 0; j < block; j++) out[o + c0 + j] = acc[j]!;
    }
  }
  return out;
}

/** Per block k: out_k = A_kᵀ·C_k (b × b), A, C [rows, n]. */
function blockCross(
  a: Float32Array,
  c: Float32Array,
  rows: number,
  n: number,
  block: number,
  out: Float64Array,
): Float64Array {
  out.fill(0);
  const bb = block * block;
  for (let t = 0; t < rows; t++) {
    const o = t * n;
    for (let k = 0; k < n / block; k++) {
      const c0 = o + k * block;
      const bo = k * bb;
      for (let i = 0; i < block; i++) {
        const ai = a[c0 + i]!;
        if (ai === 0) continue;
        const ro = bo + i * block;
        for (let j = 0; j < block; j++) out[ro + j]! += ai * c[c0 + j]!;
      }
    }
  }
  return out;
}

interface State {
  z: Float32Array;
  zq: Float32Array;
  y: Float32Array;
  loss: number;
}

function evaluateCodec(
  x: Float32Array,
  rows: number,
  enc: BlockOrthogonal,
  dec: BlockOrthogonal,
  quantize: RowQuantizer,
  w: Float64Array | null,
  den: number,
  st: State,
): State {
  blockApply(x, rows, enc, st.z);
  quantize(st.z, rows, enc.n, st.zq);
  blockApply(st.zq, rows, dec, st.y);
  let num = 0;
  const n = enc.n;
  for (let t = 0; t < rows; t++) {
    let e = 0;
    for (let j = 0; j < n; j++) {
      const d = st.y[t * n + j]! - x[t * n + j]!;
      e += d * d;
    }
    num += (w ? w[t]! : 1) * e;
  }
  st.loss = num / den;
  return st;
}

/** Codec reconstruction loss L(E, D) (definition above) — for reports and tests. */
export function codecLoss(
  x: Float32Array,
  rows: number,
  enc: BlockOrthogonal,
  dec: BlockOrthogonal,
  quantize: RowQuantizer,
  w: Float64Array | null = null,
): number {
  const n = enc.n;
  const st: State = {
    z: new Float32Array(rows * n),
    zq: new Float32Array(rows * n),
    y: new Float32Array(rows * n),
    loss: 0,
  };
  return evaluateCodec(x, rows, enc, dec, quantize, w, weightedEnergy(x, rows, n, w), st).loss;
}

function weightedEnergy(x: Float32Array, rows: number, n: number, w: Float64Array | null): number {
  let den = 0;
  for (let t = 0; t < rows; t++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += x[t * n + j]! ** 2;
    den += (w ? w[t]! : 1) * s;
  }
  return den > 0 ? den : 1;
}

function maxBlockNorm(a: Float64Array, block: number): number {
  const bb = block * block;
  let m = 0;
  for (let k = 0; k < a.length / bb; k++) {
    let s = 0;
    for (let i = 0; i < bb; i++) s += a[k * bb + i]! ** 2;
    m = Math.max(m, Math.sqrt(s));
  }
  return m;
}

export function trainAdaCodec(
  x: Float32Array,
  rows: number,
  n: number,
  quantize: RowQuantizer,
  opts: AdaCodecOptions = {},
): AdaCodecResult {
  const t0 = performance.now();
  const block = opts.block ?? 64;
  if (x.length !== rows * n || rows < 1)
    throw new NqInputError(
      'x',
      `has ${x.length} entries, expected rows·n = ${rows * n}`,
      'Pass calibration activations as a row-major rows × n array.',
    );
  if (!Number.isInteger(block) || block < 1 || n % block !== 0)
    throw new NqInputError(
      'block',
      `is ${block}; it must divide n = ${n}`,
      'Use a block size that divides the dimension, e.g. 64.',
    );
  const iters = opts.iterations ?? 60;
  if (!Number.isInteger(iters) || iters < 0)
    throw new NqInputError('iterations', `is ${iters}`, 'Use a non-negative integer, e.g. 60.');
  let lr = opts.lr ?? 0.05;
  if (!(lr > 0) || !Number.isFinite(lr))
    throw new NqInputError('lr', `is ${lr}`, 'Use a positive step angle, e.g. 0.05.');
  const w = opts.weights ?? null;
  if (w && w.length !== rows)
    throw new NqInputError(
      'weights',
      `has ${w.length} entries for ${rows} tokens`,
      'Pass one weight per calibration token.',
    );
  const trainDec = opts.trainDecoder ?? true;
  let enc = blockRandomHadamard(n, block, opts.seed ?? 0);
  let dec = blockTranspose(enc);
  const den = weightedEnergy(x, rows, n, w);
  const mk = (): State => ({
    z: new Float32Array(rows * n),
    zq: new Float32Array(rows * n),
    y: new Float32Array(rows * n),
    loss: 0,
  });
  let cur = evaluateCodec(x, rows, enc, dec, quantize, w, den, mk());
  let trial = mk();
  const loss = [cur.loss];
  const monotone = (opts.schedule ?? 'cosine') === 'monotone';
  const lr0 = lr;
  let bestLoss = cur.loss;
  let bestEnc = enc;
  let bestDec = dec;
  let best = 0;
  const bb = block * block;
  const nb = n / block;
  const g = new Float32Array(rows * n);
  const gdt = new Float32Array(rows * n);
  const gradD = new Float64Array(nb * bb);
  const gradE = new Float64Array(nb * bb);
  const aE = new Float64Array(nb * bb);
  const aD = new Float64Array(nb * bb);
  let accepted = 0;
  for (let it = 1; it <= iters; it++) {
    // G = diag(w)(X̂ − X); gradients through the STE.
    for (let t = 0; t < rows; t++) {
      const wt = w ? w[t]! : 1;
      for (let j = 0; j < n; j++) g[t * n + j] = wt * (cur.y[t * n + j]! - x[t * n + j]!);
    }
    blockApply(g, rows, dec, gdt, true);
    blockCross(x, gdt, rows, n, block, gradE);
    if (trainDec) blockCross(cur.zq, g, rows, n, block, gradD);
    for (let k = 0; k < nb; k++) {
      cayleySkew(enc.blocks, k * bb, gradE, k * bb, block, aE.subarray(k * bb, (k + 1) * bb));
      if (trainDec) cayleySkew(dec.blocks, k * bb, gradD, k * bb, block, aD.subarray(k * bb, (k + 1) * bb));
    }
    const tauE = lr / Math.max(maxBlockNorm(aE, block), 1e-300);
    const tauD = trainDec ? lr / Math.max(maxBlockNorm(aD, block), 1e-300) : 0;
    const e2: BlockOrthogonal = { n, block, blocks: Float64Array.from(enc.blocks) };
    const d2: BlockOrthogonal = { n, block, blocks: Float64Array.from(dec.blocks) };
    for (let k = 0; k < nb; k++) {
      cayleyStepInPlace(e2.blocks, k * bb, aE.subarray(k * bb, (k + 1) * bb), block, tauE);
      if (trainDec) cayleyStepInPlace(d2.blocks, k * bb, aD.subarray(k * bb, (k + 1) * bb), block, tauD);
    }
    evaluateCodec(x, rows, e2, d2, quantize, w, den, trial);
    if (monotone ? trial.loss < cur.loss : true) {
      enc = e2;
      dec = d2;
      const tmp = cur;
      cur = trial;
      trial = tmp;
      accepted++;
      if (monotone) lr = Math.min(lr * 1.2, 0.5);
    } else lr *= 0.5;
    if (!monotone) lr = lr0 * 0.5 * (1 + Math.cos((Math.PI * it) / iters));
    if (cur.loss < bestLoss) {
      bestLoss = cur.loss;
      bestEnc = enc;
      bestDec = dec;
      best = it;
    }
    loss.push(cur.loss);
    opts.onIteration?.(it, cur.loss, lr);
  }
  enc = bestEnc;
  dec = bestDec;
  const oe = Math.max(blockOrthogonalityError(enc), blockOrthogonalityError(dec));
  if (oe > 1e-6) throw new Error(`AdaCodec: blocks drifted off the orthogonal group (${oe}) — a bug`);
  return { enc, dec, loss, best, accepted, seconds: (performance.now() - t0) / 1000 };
}
