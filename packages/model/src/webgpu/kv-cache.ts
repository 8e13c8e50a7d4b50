import { NqInputError } from '@nq/core';
import { createStorageBuffer } from '@nq/core/webgpu';
import type { GpuModel } from './forward.js';

/**
 * Keys (after RoPE) and values of every position seen so far, per layer, on the GPU:
 * [maxLen, kvDim] row-major, like the CPU KvCache. `forwardWebGPU(gm, tokens, { cache })` appends
 * the new tokens' rows and advances `length`. Tied to the GpuModel it was made for.
 */
export interface GpuKvCache {
  readonly owner: GpuModel;
  readonly maxLen: number;
  readonly kvDim: number;
  /** Positions filled so far (= RoPE position of the next token). */
  length: number;
  /** Per layer: [maxLen · kvDim] f32. */
  readonly k: GPUBuffer[];
  readonly v: GPUBuffer[];
  readonly destroyed: boolean;
  /** Frees the GPU buffers. */
  destroy(): void;
}

/** A KV cache for `gm` holding up to maxLen positions (default: every position RoPE covers). */
export function createGpuKvCache(gm: GpuModel, maxLen: number = gm.buffers.ropePositions): GpuKvCache {
  if (!Number.isInteger(maxLen) || maxLen <= 0 || maxLen > gm.buffers.ropePositions) {
    throw new NqInputError(
      'maxLen',
      `must be an integer in [1, ${gm.buffers.ropePositions}], got ${maxLen}`,
      'Pass the longest context you will decode (at most min(seqLen, 2048) on the webgpu backend).',
    );
  }
  const c = gm.model.config;
  const kvDim = (c.dim / c.nHeads) * c.nKvHeads;
  const mk = () =>
    Array.from({ length: c.nLayers }, () => createStorageBuffer(gm.device, maxLen * kvDim * 4));
  const k = mk();
  const v = mk();
  let destroyed = false;
  return {
    owner: gm,
    maxLen,
    kvDim,
    length: 0,
    k,
    v,
    get destroyed() {
      return destroyed;
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      for (const b of [...k, ...v]) b.destroy();
    },
  };
}

/** Forgets every position (the buffers are kept for reuse). */
export function resetGpuKvCache(cache: GpuKvCache): void {
  cache.length = 0;
}
