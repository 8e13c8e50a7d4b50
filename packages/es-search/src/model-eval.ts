import { type Matrix, NqInputError } from '@nq/core';
import {
  buildReference as buildModelReference,
  type EvalWindow,
  FIRST_IN_GROUP,
  INPUT_GROUPS,
  LINEAR_INPUT_GROUP,
  type RefLogprobs,
  scoreCandidate,
} from '@nq/eval-ppl';
import { type CompiledRotation, compileRotation, type RotationSpec } from '@nq/hadamard';
import { rotate } from '@nq/hadamard/cpu';
import type { ForwardHooks, LayerWeights, LinearName, LoadedModel } from '@nq/model';
import { defaultWasmGemm, type GemmFn, gemmABt } from '@nq/model/cpu';
import type { InputGroup } from './capture.js';
import { fakeQuantRowsSym } from './cpu/quant-error.js';

/*
 * Model-level check of searched rotations. @nq/eval-ppl's recipes draw their rotations from a seed
 * (hadamard / block-hadamard / orthogonal / adaptive) and cannot take a RotationSpec per layer, so
 * this is the minimal glue: the same W4A4 scheme as eval's `w4a4-rtn-token` family —
 * ŷ = Q4(x·R)·Q4(W·R)ᵀ for every block linear (activations per token, weights per output row, 4-bit
 * symmetric, round half to even), embeddings/norms/classifier full precision — with R given per
 * (layer, input group) as a RotationSpec (applied with @nq/hadamard's FWHT kernels), scored with
 * eval-ppl's own statistics (RefBuilder, PositionScorer, summarize: KLD against the full-precision
 * model, PPL, same-top-token). Checked against evaluate('w4a4-rtn-token') and evaluate('bhad64-w4a4')
 * in the tests.
 */

/** A rotation for each (layer, input group), or null for none. */
export type RotationPlan = (layer: number, group: InputGroup) => RotationSpec | null;

let gemmCached: GemmFn | undefined;
const fastGemm = (): GemmFn => {
  gemmCached ??= defaultWasmGemm()?.gemm ?? gemmABt;
  return gemmCached;
};

export interface PreparedW4A4 {
  model: LoadedModel;
  hooks: ForwardHooks;
}

/** Rotates (W·R) and 4-bit fake-quantizes every block linear's weight once; returns hooks that do the same to inputs. */
export function prepareRotatedW4A4(base: LoadedModel, plan: RotationPlan, bits = 4): PreparedW4A4 {
  const nL = base.config.nLayers;
  const rots: (CompiledRotation | null)[][] = [];
  for (let l = 0; l < nL; l++) {
    rots.push(
      (['attn', 'o', 'ffn', 'down'] as const).map((g) => {
        const s = plan(l, g);
        return s ? compileRotation(s, `plan(${l}, '${g}')`) : null;
      }),
    );
  }
  const layers: LayerWeights[] = base.weights.layers.map((L, l) => {
    const out: LayerWeights = { ...L };
    for (const name of ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const) {
      const r = rots[l]![INPUT_GROUPS.indexOf(LINEAR_INPUT_GROUP[name])];
      const w = L[name];
      if (r && r.dim !== w.cols) {
        throw new NqInputError(
          `plan(${l}, '${LINEAR_INPUT_GROUP[name]}')`,
          `has dim ${r.dim} but ${name}'s input has ${w.cols} channels`,
          'Return a rotation of the layer input size.',
        );
      }
      const wq: Matrix = r
        ? rotate(w, r, { checkFinite: false })
        : { rows: w.rows, cols: w.cols, data: w.data.slice() };
      fakeQuantRowsSym(wq.data, wq.rows, wq.cols, bits);
      out[name] = wq;
    }
    return out;
  });
  const model: LoadedModel = {
    ...base,
    weights: { ...base.weights, layers },
    transforms: [...(base.transforms ?? []), 'es-search:rotated-w4a4'],
  };
  // Scratch per input group (q/k/v and gate/up share their rotated, quantized input), grown as needed.
  const xin = new Map<InputGroup, Float32Array>();
  const ys = new Map<LinearName, Float32Array>();
  const grow = <K>(m: Map<K, Float32Array>, k: K, n: number) => {
    let a = m.get(k);
    if (!a || a.length < n) {
      a = new Float32Array(n);
      m.set(k, a);
    }
    return a.subarray(0, n);
  };
  const hooks: ForwardHooks = {
    replaceLinear: (layer, name, x, w) => {
      const g = LINEAR_INPUT_GROUP[name];
      const T = x.rows;
      const K = x.cols;
      const xi = grow(xin, g, T * K);
      if (FIRST_IN_GROUP[name]) {
        const r = rots[layer]![INPUT_GROUPS.indexOf(g)];
        if (r) rotate(x, r, { out: { rows: T, cols: K, data: xi }, checkFinite: false });
        else xi.set(x.data.subarray(0, T * K));
        fakeQuantRowsSym(xi, T, K, bits);
      }
      const y = grow(ys, name, T * w.rows);
      fastGemm()(xi, T, K, w.data, w.rows, y);
      return { rows: T, cols: w.rows, data: y };
    },
  };
  return { model, hooks };
}

/** Full-precision reference log-probs over the windows (full vocabulary), for scoring many plans. */
export function buildReference(
  model: LoadedModel,
  tokens: ArrayLike<number>,
  windows: EvalWindow[],
): RefLogprobs {
  return buildModelReference(model, tokens, { windowList: windows }).ref;
}

export interface PlanEvaluation {
  kld_mean: number;
  kld_se: number;
  ppl: number;
  ppl_se: number;
  ppl_base: number;
  top1: number;
  tokens_scored: number;
  seconds: number;
  /** KL divergence at every scored position (for paired comparisons of plans on the same tokens). */
  kldPerToken: Float64Array;
}

/**
 * Paired difference of two per-token series on the same positions: mean of (a − b) and its standard
 * error sqrt(var/(n−1)) (eval-ppl's convention). Plans scored on the same tokens are strongly
 * correlated, so this resolves differences far smaller than the per-plan standard errors.
 */
export function pairedDifference(a: Float64Array, b: Float64Array): { mean: number; se: number } {
  if (a.length !== b.length || a.length < 2) {
    throw new NqInputError(
      'b',
      `has ${b.length} values, a has ${a.length}`,
      'Compare two evaluations of the same windows (at least 2 positions).',
    );
  }
  const n = a.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i]! - b[i]!;
  const mean = s / n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (a[i]! - b[i]! - mean) ** 2;
  return { mean, se: Math.sqrt(v / n / (n - 1)) };
}

/** KLD / PPL / same-top of W4A4 under a rotation plan, against the reference (eval-ppl's statistics). */
export function evaluatePlan(
  base: LoadedModel,
  tokens: ArrayLike<number>,
  windows: EvalWindow[],
  ref: RefLogprobs,
  plan: RotationPlan,
): PlanEvaluation {
  const t0 = performance.now();
  const { model, hooks } = prepareRotatedW4A4(base, plan);
  const r = scoreCandidate({ ref, windows, tokens: Int32Array.from(tokens) }, model, hooks);
  return {
    kld_mean: r.kld_mean,
    kld_se: r.kld_se,
    ppl: r.ppl,
    ppl_se: r.ppl_se,
    ppl_base: r.ppl_base,
    top1: r.top1,
    tokens_scored: r.tokens_scored,
    seconds: (performance.now() - t0) / 1000,
    kldPerToken: r.kldPerToken,
  };
}
