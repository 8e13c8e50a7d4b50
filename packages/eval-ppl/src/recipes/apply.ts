import { type Matrix, Rng } from '@nq/core';
import type { ForwardHooks, LayerWeights, LinearName, LoadedModel } from '@nq/model';
import { fastGemm } from './gemm.js';
import { fakeQuantActivations, fakeQuantRowInPlace, fakeQuantWeight } from './quantize.js';
import { quarotTransform } from './quarot.js';
import { adaptiveBlock, type DenseRotation, randomBlockHadamard, randomOrthogonal } from './rotation.js';
import type { RecipeSpec, RotationChoice } from './spec.js';

/** The four distinct linear inputs of a block; q/k/v share one, gate/up share one. */
export type InputGroup = 'attn' | 'o' | 'ffn' | 'down';
/** Index of each group in PreparedRecipe.inputRotations[layer]. */
export const INPUT_GROUPS: readonly InputGroup[] = ['attn', 'o', 'ffn', 'down'];
/** The input group each block linear reads. */
export const LINEAR_INPUT_GROUP: Record<LinearName, InputGroup> = {
  q: 'attn',
  k: 'attn',
  v: 'attn',
  o: 'o',
  gate: 'ffn',
  up: 'ffn',
  down: 'down',
};
/** The linear that runs first in each group: the shared rotated/quantized input is (re)built there. */
export const FIRST_IN_GROUP: Record<LinearName, boolean> = {
  q: true,
  k: false,
  v: false,
  o: true,
  gate: true,
  up: false,
  down: true,
};

/** A model ready to evaluate under a recipe: its (transformed, fake-quantized) weights and hooks. */
export interface PreparedRecipe {
  spec: RecipeSpec;
  model: LoadedModel;
  hooks: ForwardHooks | undefined;
  /** Rotation labels per layer and input, for provenance. */
  rotations: string[];
  /**
   * The online input rotation of every layer and input group (INPUT_GROUPS order), null = none; the
   * hooks apply x·R with these and the weights already hold W·R. Other backends (webgpu) rebuild the
   * hooks from this, `spec.activations` and `spec.kv`.
   */
  inputRotations: (DenseRotation | null)[][];
}

function inputSize(model: LoadedModel, g: InputGroup): number {
  const c = model.config;
  return g === 'down' ? c.hiddenDim : g === 'o' ? c.nHeads * (c.dim / c.nHeads) : c.dim;
}

function makeRotation(
  choice: RotationChoice,
  layer: number,
  group: InputGroup,
  n: number,
): DenseRotation | null {
  const rng = new Rng(choice.seed).fork(`L${layer}.${group}`);
  switch (choice.kind) {
    case 'hadamard':
      return randomBlockHadamard(n, n, rng);
    case 'block-hadamard':
      return randomBlockHadamard(n, Math.min(choice.block!, n), rng);
    case 'orthogonal':
      return randomOrthogonal(n, rng);
    case 'adaptive':
      return layer === 0 ? null : randomBlockHadamard(n, adaptiveBlock(n), rng);
  }
}

/**
 * Applies a recipe to a model. Weights are rotated (W·R) and fake-quantized once, here; the
 * returned hooks rotate and fake-quantize each linear's input at run time (ŷ = Q_a(x·R)·Q_w(W·R)ᵀ)
 * and the KV rows for '+kv4'. The base model is not modified.
 */
export function prepareRecipe(base: LoadedModel, spec: RecipeSpec): PreparedRecipe {
  const c = base.config;
  let model = base;
  // Per layer and input group: the rotation (null = none).
  const rot: (DenseRotation | null)[][] = [];
  const labels: string[] = [];
  if (spec.quarot) {
    // Rotations live in the transformed model (R4 runs inside the forward pass, before the hooks).
    const q = quarotTransform(base, spec.quarot.seed);
    model = q.model;
    for (let l = 0; l < c.nLayers; l++) rot.push([null, null, null, null]);
    labels.push(...q.labels);
  } else {
    for (let l = 0; l < c.nLayers; l++) {
      const row: (DenseRotation | null)[] = [];
      for (const g of ['attn', 'o', 'ffn', 'down'] as const) {
        const r = spec.rotation ? makeRotation(spec.rotation, l, g, inputSize(base, g)) : null;
        row.push(r);
        if (spec.rotation) labels.push(`L${l}.${g}: ${r ? r.label : 'none'}`);
      }
      rot.push(row);
    }
  }
  const gi = (g: InputGroup) => (g === 'attn' ? 0 : g === 'o' ? 1 : g === 'ffn' ? 2 : 3);

  // Weights: W → Q_w(W·R), once.
  if (spec.weights || rot.some((r) => r.some((x) => x))) {
    const layers: LayerWeights[] = model.weights.layers.map((L, l) => {
      const out: LayerWeights = { ...L };
      for (const name of ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const) {
        let w = L[name];
        const r = rot[l]![gi(LINEAR_INPUT_GROUP[name])];
        if (r) w = rotateRows(w, r);
        if (spec.weights) w = fakeQuantWeight(w, spec.weights, `layer ${l} ${name}`);
        out[name] = w;
      }
      return out;
    });
    model = {
      ...model,
      weights: { ...model.weights, layers },
      transforms: [...(model.transforms ?? []), `recipe:${spec.name}`],
    };
  }

  const needInputHook = spec.activations !== null || rot.some((r) => r.some((x) => x));
  if (!needInputHook && !spec.kv)
    return { spec, model, hooks: undefined, rotations: labels, inputRotations: rot };

  const hooks: ForwardHooks = {};
  if (needInputHook) {
    // Scratch per input group, grown to the window length; the forward pass copies what we return.
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
    const act = spec.activations;
    hooks.replaceLinear = (layer: number, name: LinearName, x: Matrix, w: Matrix): Matrix | undefined => {
      const g = LINEAR_INPUT_GROUP[name];
      const r = rot[layer]![gi(g)];
      if (!r && !act) return undefined;
      const T = x.rows;
      const K = x.cols;
      const xi = grow(xin, g, T * K);
      // q/k/v (and gate/up) receive the same input: rotate and quantize it once, at the first one.
      if (FIRST_IN_GROUP[name]) {
        if (r) fastGemm()(x.data, T, K, r.rT, K, xi);
        else xi.set(x.data);
        if (act) fakeQuantActivations(xi, T, K, act, xi);
      }
      const y = grow(ys, name, T * w.rows);
      fastGemm()(xi, T, K, w.data, w.rows, y);
      return { rows: T, cols: w.rows, data: y };
    };
  }
  if (spec.kv) {
    const bits = spec.kv.bits;
    hooks.quantizeKv = (_l, _kind, _h, _p, row) => fakeQuantRowInPlace(row, bits);
  }
  return { spec, model, hooks, rotations: labels, inputRotations: rot };
}

/** W·R for W [out, in] and R [in, in] (R given as Rᵀ): row i of the result is w_i·R. */
export function rotateRows(w: Matrix, r: DenseRotation): Matrix {
  const y = new Float32Array(w.rows * w.cols);
  fastGemm()(w.data, w.rows, w.cols, r.rT, r.n, y);
  return { rows: w.rows, cols: w.cols, data: y };
}
