import { NqInputError } from '@nq/core';
import { argmaxRow } from '../cpu/generate.js';
import { forwardWebGPU, type GpuModel } from './forward.js';
import type { GpuForwardHooks } from './hooks.js';
import { createGpuKvCache } from './kv-cache.js';

/**
 * Greedy decoding on the GPU with a GPU KV cache: the prompt in one prefill, then one token per
 * step (each step reads back one row of logits). Returns prompt + new ids (stops early at `stopAt`).
 */
export async function generateGreedyWebGPU(
  gm: GpuModel,
  prompt: ArrayLike<number>,
  newTokens: number,
  opts: { hooks?: GpuForwardHooks; stopAt?: number } = {},
): Promise<number[]> {
  if (!Number.isInteger(newTokens) || newTokens < 0) {
    throw new NqInputError(
      'newTokens',
      `must be a non-negative integer, got ${newTokens}`,
      'Pass how many tokens to generate.',
    );
  }
  const ids = Array.from(prompt);
  if (newTokens === 0) return ids;
  const cache = createGpuKvCache(gm, ids.length + newTokens);
  try {
    const fo = { cache, lastOnly: true, ...(opts.hooks ? { hooks: opts.hooks } : {}) };
    let logits = await forwardWebGPU(gm, ids, fo);
    for (let i = 0; i < newTokens; i++) {
      const next = argmaxRow(logits.data, logits.cols);
      ids.push(next);
      if (next === opts.stopAt || i === newTokens - 1) break;
      logits = await forwardWebGPU(gm, [next], fo);
    }
    return ids;
  } finally {
    cache.destroy();
  }
}
