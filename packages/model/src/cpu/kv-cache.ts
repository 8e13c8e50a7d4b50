import { NqInputError } from '@nq/core';
import { kvDim } from '../config.js';
import type { ModelConfig } from '../types.js';

/**
 * Keys (after RoPE) and values of every position seen so far, per layer, [maxLen, kvDim] row-major.
 * `forward(model, tokens, { cache })` appends the new tokens' rows and advances `length`.
 */
export interface KvCache {
  readonly maxLen: number;
  readonly kvDim: number;
  /** Positions filled so far (= RoPE position of the next token). */
  length: number;
  /** Per layer: [maxLen · kvDim]. */
  readonly k: Float32Array[];
  /** Per layer: [maxLen · kvDim]. */
  readonly v: Float32Array[];
}

export function createKvCache(config: ModelConfig, maxLen: number = config.seqLen): KvCache {
  if (!Number.isInteger(maxLen) || maxLen <= 0 || maxLen > 1 << 20) {
    throw new NqInputError(
      'maxLen',
      `must be a positive integer ≤ 2^20, got ${maxLen}`,
      'Pass the longest context you will decode.',
    );
  }
  const w = kvDim(config);
  return {
    maxLen,
    kvDim: w,
    length: 0,
    k: Array.from({ length: config.nLayers }, () => new Float32Array(maxLen * w)),
    v: Array.from({ length: config.nLayers }, () => new Float32Array(maxLen * w)),
  };
}

/** Forgets every position (the buffers are kept for reuse). */
export function resetKvCache(cache: KvCache): void {
  cache.length = 0;
}
