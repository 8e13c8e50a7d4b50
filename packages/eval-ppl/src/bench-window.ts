import { forward, type LoadedModel, loadModel } from '@nq/model';
import { prepareRecipe } from './recipes/apply.js';
import { recipeFromName } from './recipes/spec.js';
import { RefBuilder } from './stats/reference.js';
import { newTokenScores, PositionScorer } from './stats/token-scores.js';

/** One benchmark pass of the evaluation: a window through the recipe's model + KL scoring. */
export interface WindowBench {
  /** Runs one window (forward under the recipe + scoring of its T−1 positions against the reference). */
  run: () => void;
  tokens: number;
  /** Multiply-adds ×2 of the linears and the classifier for the window (attention not counted). */
  flops: number;
  /** Bytes of block + classifier weights every window's GEMMs stream once. */
  weightBytes: number;
}

/**
 * Builds the evaluation's unit of work for benchmarks: `tokens` (one window) is scored under
 * `recipe` against a full-vocabulary reference computed once from the fp model (as the cache would
 * provide it).
 */
export async function prepareWindowBench(
  model: string | LoadedModel,
  tokens: ArrayLike<number>,
  recipe: string,
  seed = 0,
): Promise<WindowBench> {
  const m = typeof model === 'string' ? await loadModel(model) : model;
  const c = m.config;
  const V = c.vocabSize;
  const ids = Array.from(tokens, Number);
  const T = ids.length;
  const ref = new RefBuilder(V, T - 1, { kind: 'full' });
  const fpLogits = forward(m, ids).data;
  for (let j = 0; j < T - 1; j++) ref.add(fpLogits, j * V, ids[j + 1]!);
  const p = prepareRecipe(m, recipeFromName(recipe, seed));
  const scorer = new PositionScorer(ref.ref);
  const s = newTokenScores(T - 1);
  const kvDim = (c.dim / c.nHeads) * c.nKvHeads;
  const params = c.nLayers * (2 * c.dim * c.dim + 2 * c.dim * kvDim + 3 * c.dim * c.hiddenDim) + V * c.dim;
  return {
    tokens: T,
    flops: 2 * params * T,
    weightBytes: 4 * params,
    run: () => {
      const logits = forward(p.model, ids, p.hooks ? { hooks: p.hooks } : {}).data;
      s.count = 0;
      for (let j = 0; j < T - 1; j++) scorer.score(logits, j * V, ids[j + 1]!, j, s);
    },
  };
}
