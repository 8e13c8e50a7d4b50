import { forward, type LoadedModel, loadModel } from '@nq/model';
import { recipeFromName } from '../recipes/spec.js';
import { RefBuilder } from '../stats/reference.js';
import { newTokenScores, PositionScorer } from '../stats/token-scores.js';
import type { EvalWindow } from '../windows.js';
import { prepareRecipeWebGPU } from './recipe-hooks.js';
import { runWindowsWebGPU } from './run-windows.js';

/** evaluate()'s per-window work on the GPU, for benchmarks: W windows under a recipe, scored. */
export interface WindowsBenchWebGPU {
  /** Runs every window (GPU forward under the recipe, pipelined with the CPU scoring of the previous one). */
  run: () => Promise<void>;
  windows: number;
  tokens: number;
  device: string;
  /** Frees the GPU model. */
  destroy: () => void;
}

/**
 * Builds the benchmark unit of evaluate({ backend: 'webgpu' }) once the reference is cached: the
 * windows (each `windowLen` consecutive ids of `tokens`) run through the recipe's uploaded model +
 * GPU hooks, logits read back and scored (float64 log-softmax + KL) against a full-vocabulary
 * reference built here once on the CPU from the fp model.
 */
export async function prepareWindowsBenchWebGPU(
  model: string | LoadedModel,
  tokens: ArrayLike<number>,
  windowLen: number,
  recipe: string,
  seed = 0,
): Promise<WindowsBenchWebGPU> {
  const m = typeof model === 'string' ? await loadModel(model) : model;
  const V = m.config.vocabSize;
  const ids = Int32Array.from(tokens);
  const W = Math.floor(ids.length / windowLen);
  const windows: EvalWindow[] = Array.from({ length: W }, (_, i) => ({
    start: i * windowLen,
    length: windowLen,
    scoreFrom: 0,
  }));
  const positions = W * (windowLen - 1);
  const ref = new RefBuilder(V, positions, { kind: 'full' });
  for (const w of windows) {
    const win = ids.subarray(w.start, w.start + w.length);
    const logits = forward(m, win).data;
    for (let j = 0; j < windowLen - 1; j++) ref.add(logits, j * V, win[j + 1]!);
  }
  const gr = await prepareRecipeWebGPU(m, recipeFromName(recipe, seed));
  const scorer = new PositionScorer(ref.ref);
  const s = newTokenScores(positions);
  return {
    windows: W,
    tokens: W * windowLen,
    device: gr.gpuModel.adapterName,
    run: async () => {
      s.count = 0;
      let pos = 0;
      await runWindowsWebGPU(
        gr.gpuModel,
        ids,
        windows,
        (logits, _w, j, target) => scorer.score(logits, j * V, target, pos++, s),
        gr.hooks ? { hooks: gr.hooks } : {},
      );
    },
    destroy: () => gr.destroy(),
  };
}
