import { NqInputError } from '@nq/core';
import type { LoadedModel } from '../types.js';
import { defaultGemm, type ForwardOptions, forward } from './forward.js';
import { createKvCache, releaseKvCache } from './kv-cache.js';

/** Index of the largest value in row `row` of a [rows, cols] array (first one on ties). */
export function argmaxRow(data: Float32Array, cols: number, row = 0): number {
  let best = 0;
  let bv = data[row * cols]!;
  for (let i = 1; i < cols; i++) {
    const v = data[row * cols + i]!;
    if (v > bv) {
      bv = v;
      best = i;
    }
  }
  return best;
}

/**
 * Greedy (argmax) decoding with a KV cache: prefill the prompt in one forward, then one token per
 * step. Returns prompt + new ids (stops early at `stopAt`, e.g. EOS, which is included).
 */
export function generateGreedy(
  model: LoadedModel,
  prompt: ArrayLike<number>,
  newTokens: number,
  opts: Pick<ForwardOptions, 'hooks' | 'gemm'> & { stopAt?: number } = {},
): number[] {
  if (!Number.isInteger(newTokens) || newTokens < 0) {
    throw new NqInputError(
      'newTokens',
      `must be a non-negative integer, got ${newTokens}`,
      'Pass how many tokens to generate.',
    );
  }
  const ids = Array.from(prompt);
  if (newTokens === 0) return ids;
  // In the kernel's memory (attention reads it in place), given back when done.
  const cache = createKvCache(model.config, ids.length + newTokens, { gemm: opts.gemm ?? defaultGemm() });
  try {
    let logits = forward(model, ids, { ...opts, cache, lastOnly: true });
    for (let i = 0; i < newTokens; i++) {
      const next = argmaxRow(logits.data, logits.cols);
      ids.push(next);
      if (next === opts.stopAt || i === newTokens - 1) break;
      logits = forward(model, [next], { ...opts, cache, lastOnly: true });
    }
  } finally {
    releaseKvCache(cache);
  }
  return ids;
}
