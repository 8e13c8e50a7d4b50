import { NqInputError } from '@nq/core';
import type { ModelConfig } from '../types.js';
import type { ForwardOptions } from './forward.js';
import { isReleasedKvCache } from './kv-cache.js';

function checkTokens(tokens: ArrayLike<number>, vocab: number): void {
  if (!tokens || typeof tokens.length !== 'number' || tokens.length === 0) {
    throw new NqInputError('tokens', 'must be a non-empty array of token ids', 'Pass at least one token id.');
  }
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (!Number.isInteger(t) || t < 0 || t >= vocab) {
      throw new NqInputError(
        `tokens[${i}]`,
        `is ${t}, outside [0, ${vocab})`,
        "Pass integer ids from this model's tokenizer.",
      );
    }
  }
}

/**
 * Checks forward()'s tokens and options against the model shape (typed errors naming the argument)
 * and returns where the tokens go: `storeBase`, the first cache row they fill (0 without a cache),
 * and `pos0`, the RoPE position of the first token.
 */
export function checkForwardArgs(
  c: ModelConfig,
  tokens: ArrayLike<number>,
  opts: ForwardOptions,
): { storeBase: number; pos0: number } {
  checkTokens(tokens, c.vocabSize);
  const { cache } = opts;
  const T = tokens.length;
  const kv = (c.dim / c.nHeads) * c.nKvHeads;
  let storeBase = 0;
  let pos0 = opts.startPos ?? 0;
  if (cache) {
    if (opts.startPos !== undefined && opts.startPos !== cache.length) {
      throw new NqInputError(
        'startPos',
        `is ${opts.startPos} but the cache holds ${cache.length} positions`,
        'Omit startPos when passing a cache.',
      );
    }
    if (isReleasedKvCache(cache)) {
      throw new NqInputError(
        'cache',
        'was released (releaseKvCache)',
        'Create a new cache with createKvCache().',
      );
    }
    if (cache.kvDim !== kv || cache.k.length !== c.nLayers) {
      throw new NqInputError(
        'cache',
        'was made for a different model shape',
        'Create it with createKvCache(model.config).',
      );
    }
    if (cache.length + T > cache.maxLen) {
      throw new NqInputError(
        'tokens',
        `${T} more tokens overflow the cache (${cache.length} of ${cache.maxLen} used)`,
        'Create a larger cache or reset it.',
      );
    }
    storeBase = cache.length;
    pos0 = cache.length;
  } else if (!Number.isInteger(pos0) || pos0 < 0) {
    throw new NqInputError(
      'startPos',
      `must be a non-negative integer, got ${pos0}`,
      'Pass the position of the first token.',
    );
  }
  if (opts.noLogits && opts.lastOnly) {
    throw new NqInputError(
      'noLogits',
      'cannot be combined with lastOnly',
      'Pass lastOnly for the last position’s logits, or noLogits to only fill the cache.',
    );
  }
  const outRows = opts.noLogits ? 0 : opts.lastOnly ? 1 : T;
  if (
    opts.out !== undefined &&
    (!(opts.out instanceof Float32Array) || opts.out.length < outRows * c.vocabSize)
  ) {
    throw new NqInputError(
      'out',
      `must be a Float32Array of at least ${outRows}·${c.vocabSize} = ${outRows * c.vocabSize} floats, got ${opts.out instanceof Float32Array ? opts.out.length : typeof opts.out}`,
      'Pass a large enough Float32Array, or omit out for a new array.',
    );
  }
  return { storeBase, pos0 };
}
