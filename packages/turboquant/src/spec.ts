import { NqInputError } from '@nq/core';

/**
 * TurboQuant weight spec (plain JSON, stored verbatim with results).
 *
 * Per output row, every group of `groupSize` consecutive input channels is: divided by its L2 norm,
 * multiplied by a random ±1 sign vector and transformed by the normalized FWHT (a random orthogonal
 * map), coded coordinate by coordinate to the nearest of 2^bits centroids, decoded by the inverse
 * transform, and rescaled by one stored float per group (see `correction`).
 */
export interface TurboQuantSpec {
  version?: 1;
  /** Bits per coded coordinate: 2^bits centroids (1..8, default 4). */
  bits?: number;
  /** Input channels per group; a power of two in 8..4096 dividing the matrix's columns (default 128). */
  groupSize?: number;
  /** Seed of the sign vector (one vector of groupSize signs per tensor, from Rng(seed).fork(label)). */
  seed?: number;
  /**
   * 'sphere' (default): the fixed Lloyd-Max codebook of one coordinate of a uniformly random unit
   * vector in R^groupSize (Beta law, ≈ N(0, 1/g)) — nothing stored per tensor.
   * 'fitted': Lloyd's algorithm on this tensor's rotated, normalized coordinates (2^bits float32
   * centroids stored per tensor).
   */
  codebook?: 'sphere' | 'fitted';
  /**
   * The stored per-group float:
   * 'norm' (default): n / ‖ŷ‖ — the reconstructed group has exactly the stored L2 norm n;
   * 'mse': n·⟨y, ŷ⟩/‖ŷ‖² — the least-squares scale (the error is orthogonal to the reconstruction);
   * 'none': n (plain TurboQuant-MSE decoding, ‖ŵ‖ = n·‖ŷ‖).
   */
  correction?: 'norm' | 'mse' | 'none';
}

export interface ResolvedTurboQuantSpec {
  version: 1;
  bits: number;
  groupSize: number;
  seed: number;
  codebook: 'sphere' | 'fitted';
  correction: 'norm' | 'mse' | 'none';
}

export function resolveTurboQuantSpec(spec: TurboQuantSpec = {}, name = 'spec'): ResolvedTurboQuantSpec {
  if (typeof spec !== 'object' || spec === null)
    throw new NqInputError(name, 'must be an object', 'Pass e.g. { bits: 4, groupSize: 128, seed: 0 }.');
  if (spec.version !== undefined && spec.version !== 1)
    throw new NqInputError(
      `${name}.version`,
      `must be 1, got ${String(spec.version)}`,
      'Omit version or use 1.',
    );
  const bits = spec.bits ?? 4;
  if (!Number.isInteger(bits) || bits < 1 || bits > 8)
    throw new NqInputError(
      `${name}.bits`,
      `must be an integer in 1..8, got ${String(bits)}`,
      'Use bits: 4 (16 centroids).',
    );
  const groupSize = spec.groupSize ?? 128;
  if (
    !Number.isInteger(groupSize) ||
    groupSize < 8 ||
    groupSize > 4096 ||
    (groupSize & (groupSize - 1)) !== 0
  ) {
    throw new NqInputError(
      `${name}.groupSize`,
      `must be a power of two in 8..4096, got ${String(groupSize)}`,
      'Use groupSize: 128 (or 64, 256).',
    );
  }
  const seed = spec.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new NqInputError(
      `${name}.seed`,
      `must be an integer in 0..2^32−1, got ${String(seed)}`,
      'Pass seed: 0.',
    );
  const codebook = spec.codebook ?? 'sphere';
  if (codebook !== 'sphere' && codebook !== 'fitted')
    throw new NqInputError(
      `${name}.codebook`,
      `must be 'sphere' or 'fitted', got ${String(codebook)}`,
      "Use codebook: 'sphere'.",
    );
  const correction = spec.correction ?? 'norm';
  if (correction !== 'norm' && correction !== 'mse' && correction !== 'none') {
    throw new NqInputError(
      `${name}.correction`,
      `must be 'norm', 'mse' or 'none', got ${String(correction)}`,
      "Use correction: 'norm'.",
    );
  }
  return { version: 1, bits, groupSize, seed, codebook, correction };
}

export function checkGroupDivides(cols: number, groupSize: number, name: string): void {
  if (cols % groupSize !== 0) {
    throw new NqInputError(
      name,
      `has ${cols} columns, not a multiple of groupSize ${groupSize}`,
      `Use a power-of-two groupSize dividing ${cols} (e.g. ${largestPow2Divisor(cols)}).`,
    );
  }
}

function largestPow2Divisor(n: number): number {
  let p = 1;
  while (n % (p * 2) === 0 && p < 4096) p *= 2;
  return p;
}
