// Q2's learned correction predictors: a tiny MLP (one tanh hidden layer) that maps, for each output
// channel j of each sub-layer u, an input vector — a learned embedding of u, statistics of (u, j),
// or both — to a per-channel affine correction ŷ_j = (1 + a_j)·y_j + b_j.
// Trained in float64 from a seeded initialisation by full-batch gradient descent on the hidden layer
// (and the embeddings), with the output layer solved exactly after every step: the loss is quadratic
// in the output layer, so its optimum given the hidden activations is a small linear system
// (2·(H+1) unknowns) — "variable projection", which converges far faster than descending on both.
// A step that would increase the loss is halved, so no learning rate needs tuning per setting.

import { NqInputError, Rng } from '@nq/core';
import { affineSse, type ChannelStats, totalSse } from './channel-stats.js';
import { cholesky, choleskySolve } from './linalg.js';

/** One sub-layer's training data for the corrector. */
export interface CorrectorUnit {
  /** Training-row statistics of each channel. */
  train: ChannelStats;
  /** Standardized features [d, F] (row per channel); ignored when features are off. */
  features: Float64Array;
  /** Output scales: a = α·rho, b = β·sigma (rho = rms(E)/rms(Y_q), sigma = rms(E) on training rows). */
  rho: number;
  sigma: number;
}

export interface CorrectorOptions {
  useEmbedding: boolean;
  useFeatures: boolean;
  /** Number of features per channel (F). */
  featureCount: number;
  hidden?: number;
  embeddingDim?: number;
  iterations?: number;
  /** L2 penalty on every weight (not the biases). */
  weightDecay?: number;
  seed: number;
}

export interface TrainedCorrector {
  /** Per unit, per channel: the predicted affine correction. */
  a: Float64Array[];
  b: Float64Array[];
  /** Training loss (1/U)·Σ_u SSE_u/SSE0_u at the end (1 = no correction). */
  trainLoss: number;
  iterations: number;
}

/**
 * Trains one predictor on all units of a setting. Loss: (1/U)·Σ_u ‖E_u − Ê_u‖²/‖E_u‖² on the
 * training rows, plus weightDecay·‖weights‖². The embedding's gradient is multiplied by U (each
 * embedding only receives its own unit's 1/U share of the loss; a diagonal preconditioner).
 */
export function trainCorrector(units: CorrectorUnit[], opts: CorrectorOptions): TrainedCorrector {
  const { useEmbedding, useFeatures, featureCount: F } = opts;
  if (!useEmbedding && !useFeatures)
    throw new NqInputError('opts', 'uses neither embedding nor features', 'Enable at least one input.');
  const H = opts.hidden ?? 16;
  const K = opts.embeddingDim ?? 4;
  const iterations = opts.iterations ?? 200;
  const wd = opts.weightDecay ?? 1e-4;
  const U = units.length;
  const P = (useEmbedding ? K : 0) + (useFeatures ? F : 0);
  const rng = new Rng(opts.seed).fork(`corrector:${useEmbedding ? 'e' : ''}${useFeatures ? 'f' : ''}`);

  // Parameters, one flat vector: W1 [H, P], c1 [H], W2 [2, H], c2 [2], Z [U, K].
  const oW1 = 0;
  const oC1 = oW1 + H * P;
  const oW2 = oC1 + H;
  const oC2 = oW2 + 2 * H;
  const oZ = oC2 + 2;
  const nParams = oZ + (useEmbedding ? U * K : 0);
  let theta = new Float64Array(nParams);
  for (let i = 0; i < H * P; i++) theta[oW1 + i] = rng.normal() / Math.sqrt(P);
  // W2 starts small: the predictor starts near "no correction".
  for (let i = 0; i < 2 * H; i++) theta[oW2 + i] = 0.01 * rng.normal();
  if (useEmbedding) for (let i = 0; i < U * K; i++) theta[oZ + i] = rng.normal();
  const decayed = (i: number) => (i >= oW1 && i < oC1) || (i >= oW2 && i < oC2) || i >= oZ;

  const sse0 = units.map((u) => totalSse(u.train));
  const inp = new Float64Array(P);
  const h = new Float64Array(H);
  const dpre = new Float64Array(H);

  /** Loss, and its gradient into `grad` when given; optionally writes the predictions. */
  const evaluate = (
    th: Float64Array,
    grad: Float64Array | null,
    outA?: Float64Array[],
    outB?: Float64Array[],
  ): number => {
    if (grad) grad.fill(0);
    let loss = 0;
    for (let u = 0; u < U; u++) {
      const unit = units[u]!;
      const d = unit.train.d;
      const w = sse0[u]! > 0 ? 1 / (U * sse0[u]!) : 0;
      for (let j = 0; j < d; j++) {
        let p = 0;
        if (useEmbedding) for (let k = 0; k < K; k++) inp[p++] = th[oZ + u * K + k]!;
        if (useFeatures) for (let f = 0; f < F; f++) inp[p++] = unit.features[j * F + f]!;
        let o0 = th[oC2]!;
        let o1 = th[oC2 + 1]!;
        for (let k = 0; k < H; k++) {
          let s = th[oC1 + k]!;
          const row = oW1 + k * P;
          for (let q = 0; q < P; q++) s += th[row + q]! * inp[q]!;
          const hk = Math.tanh(s);
          h[k] = hk;
          o0 += th[oW2 + k]! * hk;
          o1 += th[oW2 + H + k]! * hk;
        }
        const a = o0 * unit.rho;
        const b = o1 * unit.sigma;
        if (outA) outA[u]![j] = a;
        if (outB) outB[u]![j] = b;
        const st = unit.train;
        loss += w * affineSse(st, j, a, b);
        if (!grad) continue;
        const ga = w * unit.rho * (-2 * st.sqe[j]! + 2 * a * st.sqq[j]! + 2 * b * st.sq[j]!);
        const gb = w * unit.sigma * (-2 * st.se[j]! + 2 * a * st.sq[j]! + 2 * b * st.n);
        grad[oC2]! += ga;
        grad[oC2 + 1]! += gb;
        for (let k = 0; k < H; k++) {
          grad[oW2 + k]! += ga * h[k]!;
          grad[oW2 + H + k]! += gb * h[k]!;
          dpre[k] = (ga * th[oW2 + k]! + gb * th[oW2 + H + k]!) * (1 - h[k]! * h[k]!);
        }
        for (let k = 0; k < H; k++) {
          const g = dpre[k]!;
          if (g === 0) continue;
          grad[oC1 + k]! += g;
          const row = oW1 + k * P;
          for (let q = 0; q < P; q++) grad[row + q]! += g * inp[q]!;
          if (useEmbedding) for (let q = 0; q < K; q++) grad[oZ + u * K + q]! += g * th[row + q]! * U;
        }
      }
    }
    let reg = 0;
    for (let i = 0; i < nParams; i++) {
      if (!decayed(i)) continue;
      reg += wd * th[i]! * th[i]!;
      // The embedding's data gradient is preconditioned by U; its decay term is left as is.
      if (grad) grad[i]! += 2 * wd * th[i]!;
    }
    return loss + reg;
  };

  /** Sets the output layer (W2, c2) of `th` to the exact minimiser of the loss given its hidden layer. */
  const q = H + 1;
  const sys = new Float64Array(4 * q * q);
  const rhs = new Float64Array(2 * q);
  const g = new Float64Array(q);
  const solveOutput = (th: Float64Array): void => {
    sys.fill(0);
    rhs.fill(0);
    const n2 = 2 * q;
    for (let u = 0; u < U; u++) {
      const unit = units[u]!;
      const st = unit.train;
      const w = sse0[u]! > 0 ? 1 / (U * sse0[u]!) : 0;
      if (w === 0) continue;
      for (let j = 0; j < st.d; j++) {
        let p = 0;
        if (useEmbedding) for (let k = 0; k < K; k++) inp[p++] = th[oZ + u * K + k]!;
        if (useFeatures) for (let f = 0; f < F; f++) inp[p++] = unit.features[j * F + f]!;
        for (let k = 0; k < H; k++) {
          let s = th[oC1 + k]!;
          const row = oW1 + k * P;
          for (let r = 0; r < P; r++) s += th[row + r]! * inp[r]!;
          g[k] = Math.tanh(s);
        }
        g[H] = 1;
        // ½·Hessian blocks of SSE in (pa, pb) with a = ρ·gᵀpa, b = σ·gᵀpb, and the linear terms.
        const haa = w * unit.rho * unit.rho * st.sqq[j]!;
        const hab = w * unit.rho * unit.sigma * st.sq[j]!;
        const hbb = w * unit.sigma * unit.sigma * st.n;
        const ra = w * unit.rho * st.sqe[j]!;
        const rb = w * unit.sigma * st.se[j]!;
        for (let x = 0; x < q; x++) {
          const gx = g[x]!;
          rhs[x]! += ra * gx;
          rhs[q + x]! += rb * gx;
          for (let y = 0; y < q; y++) {
            const gg = gx * g[y]!;
            sys[x * n2 + y]! += haa * gg;
            sys[x * n2 + q + y]! += hab * gg;
            sys[(q + x) * n2 + y]! += hab * gg;
            sys[(q + x) * n2 + q + y]! += hbb * gg;
          }
        }
      }
    }
    // Weight decay on W2 (not on c2), plus a tiny jitter so a dead hidden unit cannot make it singular.
    for (let x = 0; x < n2; x++) sys[x * n2 + x]! += (x % q === H ? 0 : wd) + 1e-12;
    cholesky(sys, n2);
    choleskySolve(sys, n2, rhs, 1);
    for (let k = 0; k < H; k++) {
      th[oW2 + k] = rhs[k]!;
      th[oW2 + H + k] = rhs[q + k]!;
    }
    th[oC2] = rhs[H]!;
    th[oC2 + 1] = rhs[q + H]!;
  };

  const grad = new Float64Array(nParams);
  let next = new Float64Array(nParams);
  solveOutput(theta);
  let lr = 0.5;
  let loss = evaluate(theta, grad);
  let it = 0;
  for (; it < iterations; it++) {
    let accepted = false;
    for (let tries = 0; tries < 30; tries++) {
      // Descend on the hidden layer and embeddings; the output layer is then re-solved exactly.
      for (let i = 0; i < nParams; i++) next[i] = theta[i]! - lr * grad[i]!;
      solveOutput(next);
      const l2 = evaluate(next, null);
      if (l2 <= loss) {
        [theta, next] = [next, theta];
        loss = evaluate(theta, grad);
        lr = Math.min(lr * 1.1, 10);
        accepted = true;
        break;
      }
      lr /= 2;
    }
    if (!accepted) break; // no descent step left: at a (numerical) stationary point
  }
  const a = units.map((u) => new Float64Array(u.train.d));
  const b = units.map((u) => new Float64Array(u.train.d));
  evaluate(theta, null, a, b);
  let dataLoss = 0;
  for (let u = 0; u < U; u++) {
    let s = 0;
    for (let j = 0; j < units[u]!.train.d; j++) s += affineSse(units[u]!.train, j, a[u]![j]!, b[u]![j]!);
    dataLoss += sse0[u]! > 0 ? s / sse0[u]! / U : 0;
  }
  return { a, b, trainLoss: dataLoss, iterations: it };
}
