import { NqInputError } from '@nq/core';
import { kvDim } from '../config.js';
import type { ModelConfig } from '../types.js';
import type { GemmFn } from './forward.js';
import { engineOf, type WasmGemm } from './wasm/wasm-gemm.js';

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

export interface KvCacheOptions {
  /**
   * Keep the cache in this GEMM's kernel memory (a `WasmGemm`'s or a pool's `gemm`), so attention and
   * the K/V projections use it in place: without it every forward pass copies the cache into that
   * memory for attention, which for 7B shapes at long context costs more than the attention itself.
   * Falls back to ordinary arrays when the kernel's 4 GiB memory cannot hold it. Give the memory back
   * with `releaseKvCache(cache)` when done (it is not reclaimed otherwise).
   */
  gemm?: GemmFn;
}

export function createKvCache(
  config: ModelConfig,
  maxLen: number = config.seqLen,
  opts: KvCacheOptions = {},
): KvCache {
  if (!Number.isInteger(maxLen) || maxLen <= 0 || maxLen > 1 << 20) {
    throw new NqInputError(
      'maxLen',
      `must be a positive integer ≤ 2^20, got ${maxLen}`,
      'Pass the longest context you will decode.',
    );
  }
  const w = kvDim(config);
  const n = maxLen * w;
  const engine = opts.gemm ? engineOf(opts.gemm) : undefined;
  const pinned = engine ? engine.pinOwned(2 * config.nLayers, n) : null;
  const arrays = pinned ?? Array.from({ length: 2 * config.nLayers }, () => new Float32Array(n));
  const cache: KvCache = {
    maxLen,
    kvDim: w,
    length: 0,
    k: arrays.slice(0, config.nLayers),
    v: arrays.slice(config.nLayers),
  };
  if (pinned && engine) pinnedIn.set(cache, engine);
  return cache;
}

/** Caches living in an engine's memory, and caches already released. */
const pinnedIn = new WeakMap<KvCache, WasmGemm>();
const released = new WeakSet<KvCache>();

/**
 * Gives a cache made with `{ gemm }` back to its kernel memory; the cache (and any view of its arrays)
 * must not be used afterwards — forward() refuses it. A no-op for ordinary caches.
 */
export function releaseKvCache(cache: KvCache): void {
  const engine = pinnedIn.get(cache);
  if (!engine) return;
  pinnedIn.delete(cache);
  released.add(cache);
  // Last allocated first, so the arena's top can come down.
  for (const a of [...cache.k, ...cache.v].reverse()) engine.unpin(a, true);
}

/** Whether `releaseKvCache` was called on this cache. */
export function isReleasedKvCache(cache: KvCache): boolean {
  return released.has(cache);
}

/** Forgets every position (the buffers are kept for reuse). */
export function resetKvCache(cache: KvCache): void {
  cache.length = 0;
}
