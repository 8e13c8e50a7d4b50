import { type Matrix, Rng } from '@nq/core';
import { validateConfig } from './config.js';
import type { LayerWeights, LoadedModel, ModelConfig } from './types.js';

/** A small config for CI-sized tests: 2 layers, GQA 4/2, hidden 48 (not a power of two). */
export const TINY_CONFIG: ModelConfig = {
  dim: 32,
  nLayers: 2,
  nHeads: 4,
  nKvHeads: 2,
  hiddenDim: 48,
  vocabSize: 64,
  seqLen: 64,
  normEps: 1e-5,
  ropeTheta: 10000,
};

/**
 * A random LLaMA model for tests: weights N(0, 1/in) (so activations stay O(1) through the
 * layers), embeddings N(0, 1), and norm scales 1 + N(0, 0.2²) — deliberately not all ones, so
 * that norm fusion has something to fuse. Same seed, same model, on every machine.
 */
export function randomModel(config: ModelConfig, seed: number): LoadedModel {
  validateConfig(config);
  const rng = new Rng(seed);
  const { dim, hiddenDim, vocabSize } = config;
  const hd = dim / config.nHeads;
  const kv = hd * config.nKvHeads;
  const mat = (rows: number, cols: number, std: number): Matrix => ({
    rows,
    cols,
    data: rng.normals(rows * cols, 0, std),
  });
  const norm = (): Float32Array => rng.normals(dim, 1, 0.2);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < config.nLayers; l++) {
    layers.push({
      attnNorm: norm(),
      q: mat(dim, dim, 1 / Math.sqrt(dim)),
      k: mat(kv, dim, 1 / Math.sqrt(dim)),
      v: mat(kv, dim, 1 / Math.sqrt(dim)),
      o: mat(dim, dim, 1 / Math.sqrt(dim)),
      ffnNorm: norm(),
      gate: mat(hiddenDim, dim, 1 / Math.sqrt(dim)),
      up: mat(hiddenDim, dim, 1 / Math.sqrt(dim)),
      down: mat(dim, hiddenDim, 1 / Math.sqrt(hiddenDim)),
    });
  }
  return {
    config: { ...config },
    weights: {
      tokenEmbedding: mat(vocabSize, dim, 1),
      layers,
      finalNorm: norm(),
      output: mat(vocabSize, dim, 1 / Math.sqrt(dim)),
    },
    source: { format: 'memory' },
  };
}
