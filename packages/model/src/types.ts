import type { Matrix } from '@nq/core';

/**
 * The shapes every loader produces and every forward pass consumes. Internal rotary convention is
 * llama2.c's (and GGUF llama's): rotary pairs are adjacent channels (2i, 2i+1) within each head.
 * Loaders of other layouts (Hugging Face rotate-half q/k rows) permute rows into this one.
 */
export interface ModelConfig {
  dim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  /** SwiGLU hidden size. */
  hiddenDim: number;
  vocabSize: number;
  /** Maximum context the model was trained for. */
  seqLen: number;
  normEps: number;
  ropeTheta: number;
}

/** The seven linears of a LLaMA block, in the order they run. */
export type LinearName = 'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down';
export const LINEAR_NAMES: readonly LinearName[] = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'];

/** One transformer block. Linear weights are out × in (Y = X·Wᵀ). */
export interface LayerWeights {
  /** [dim] RMSNorm scale before attention. */
  attnNorm: Float32Array;
  /** [nHeads·headDim, dim] */
  q: Matrix;
  /** [nKvHeads·headDim, dim] */
  k: Matrix;
  /** [nKvHeads·headDim, dim] */
  v: Matrix;
  /** [dim, nHeads·headDim] */
  o: Matrix;
  /** [dim] RMSNorm scale before the MLP. */
  ffnNorm: Float32Array;
  /** [hiddenDim, dim] (llama2.c w1) */
  gate: Matrix;
  /** [hiddenDim, dim] (llama2.c w3) */
  up: Matrix;
  /** [dim, hiddenDim] (llama2.c w2) */
  down: Matrix;
}

export interface ModelWeights {
  /** [vocabSize, dim] */
  tokenEmbedding: Matrix;
  layers: LayerWeights[];
  /** [dim] */
  finalNorm: Float32Array;
  /** [vocabSize, dim] classifier (a copy of tokenEmbedding's data when the file ties them). */
  output: Matrix;
}

export interface LoadedModel {
  config: ModelConfig;
  weights: ModelWeights;
  /** Where it came from, for provenance in result rows. */
  source: { format: 'llama2c' | 'safetensors' | 'gguf' | 'memory'; path?: string };
  /**
   * Rotations the forward pass applies to activations at run time (set by transforms such as
   * `onlineHadamardDown`; absent on a freshly loaded model). Hooks see the rotated activations,
   * i.e. exactly what the linear consumes.
   */
  online?: OnlineRotations;
  /** Transforms applied so far, in order, for provenance (e.g. ['fuseNorms', 'rotateResidual:…']). */
  transforms?: string[];
}

/**
 * An orthogonal n × n operator R acting on rows: `applyRight(m)` returns m·R (m: [rows, n]) as a new
 * matrix and leaves m unchanged. @nq/hadamard's rotations and `denseOrthogonal(matrix)` both fit.
 */
export interface OrthogonalOperator {
  readonly dim: number;
  applyRight(m: Matrix): Matrix;
  /** Short description for provenance, e.g. 'hadamard-768' or 'dense-256'. */
  readonly label?: string;
}

/** Online (run-time) rotations of activations. */
export interface OnlineRotations {
  /** R4: applied to the SwiGLU output (the input of down_proj), [hiddenDim]; down's weight holds W·R. */
  downInput?: OrthogonalOperator;
}
