import fs from 'node:fs';
import path from 'node:path';
import { type EvalProgress, type EvalResult, evaluate, type RecipeSpec, resolveRecipe } from '@nq/eval-ppl';
import type { ModelCell } from '../sweep/cell.js';
import { resolvePortable, tokenizerBeside } from '../util/paths.js';
import type { CellOutcome } from './kernel-study.js';

/** Bits per weight/activation element of a recipe (16 for full precision), for Pareto plots. */
export function recipeBits(spec: RecipeSpec): { wbits: number; abits: number } {
  const w = spec.weights
    ? spec.weights.bits + (spec.weights.granularity === 'group' ? 32 / (spec.weights.groupSize ?? 128) : 0)
    : 16;
  const a = spec.activations ? spec.activations.bits : 16;
  return { wbits: w, abits: a };
}

/**
 * One model-level cell: @nq/eval-ppl's evaluate() (PPL, and KLD / top-1 against the full-precision
 * model on the same windows; the reference log-probs are cached on disk after the first cell).
 */
export async function runModelCell(
  cell: ModelCell,
  onProgress?: (p: EvalProgress) => void,
): Promise<CellOutcome> {
  const model = resolvePortable(cell.model);
  const text = resolvePortable(cell.text);
  const recipe = typeof cell.recipe === 'string' ? cell.recipe : (cell.recipe as unknown as RecipeSpec);
  const r: EvalResult = await evaluate({
    model,
    text,
    recipe,
    ctx: cell.ctx,
    ...(cell.stride !== undefined ? { stride: cell.stride } : {}),
    windows: cell.windows,
    seed: cell.seed,
    ...(onProgress ? { onProgress } : {}),
  });
  const bits = recipeBits(r.spec);
  const tok = tokenizerBeside(model);
  return {
    metrics: {
      ppl: r.ppl,
      ppl_se: r.ppl_se,
      ppl_base: r.ppl_base,
      ppl_delta: r.ppl - r.ppl_base,
      kld_mean: r.kld_mean,
      kld_se: r.kld_se,
      kld_median: r.kld_median,
      kld_p99: r.kld_p99,
      kld_max: r.kld_max,
      top1: r.top1,
      top1_se: r.top1_se,
      windows: r.windows,
      tokens_scored: r.tokens_scored,
      wbits: bits.wbits,
      abits: bits.abits,
      bits: Math.max(bits.wbits, bits.abits),
    },
    extra: {
      recipe: r.spec,
      kld_method: r.kld_method,
      rotations: r.provenance.rotations,
      reference_cached: r.reference.cached,
    },
    timings: {
      total_ms: r.seconds * 1000,
      candidate_ms: r.candidate_seconds * 1000,
      reference_ms: r.reference.seconds * 1000,
    },
    seeds: { rotation: cell.seed },
    files: [model, text, ...(tok ? [tok] : [])],
    backend: 'cpu',
  };
}

/** Validates a recipe (name or JSON) early, so a bad sweep fails before any cell runs. */
export function checkRecipe(recipe: string | Record<string, unknown>, seed: number): void {
  resolveRecipe(recipe as string | RecipeSpec, seed);
}
