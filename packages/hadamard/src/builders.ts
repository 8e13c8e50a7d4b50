import { NqInputError, Rng } from '@nq/core';
import { assertSupportedSize } from './construct/orders.js';
import { haarOrthogonal } from './qr.js';
import { type RotationSpec, validateRotationSpec } from './spec.js';

function checkDim(dim: number, name = 'dim'): void {
  if (!Number.isInteger(dim) || dim < 1)
    throw new NqInputError(name, `must be a positive integer, got ${dim}`, 'Pass the number of channels.');
}

function checkBlock(dim: number, block: number): void {
  if (!Number.isInteger(block) || block < 1 || dim % block !== 0) {
    throw new NqInputError(
      'block',
      `must be a positive integer dividing dim = ${dim}, got ${block}`,
      'Pick a block size that divides the dimension.',
    );
  }
}

/** The identity rotation (one Hadamard stage of block 1 without signs). */
export function identity(dim: number): RotationSpec {
  checkDim(dim);
  return { version: 1, dim, stages: [{ kind: 'hadamard', block: 1 }], meta: { generator: 'identity' } };
}

/** Signs for a seed: `new Rng(seed).signs(dim)` (the same on every backend and machine). */
export function seededSigns(dim: number, seed: number): number[] {
  return Array.from(new Rng(seed).signs(dim));
}

/**
 * QuaRot-style random Hadamard: R = D·H_dim/√dim with seeded random signs D. dim must be a
 * supported size (power of two or m·2^k, e.g. 768 = 12·64, 11008 = 172·64).
 */
export function randomHadamard(dim: number, seed: number): RotationSpec {
  checkDim(dim);
  assertSupportedSize(dim, 'dim');
  return {
    version: 1,
    dim,
    stages: [{ kind: 'hadamard', block: dim, signs: seededSigns(dim, seed) }],
    meta: { generator: 'randomHadamard', seed },
  };
}

/**
 * Block-diagonal Hadamard with blocks of size `block` (power of two or m·2^k dividing dim). With a seed
 * the signs are random (seeded); without one there are no signs (a deterministic Hadamard, e.g. the
 * online Hadamard before down_proj).
 */
export function blockHadamard(dim: number, block: number, seed?: number): RotationSpec {
  checkDim(dim);
  checkBlock(dim, block);
  assertSupportedSize(block, 'block');
  const stage =
    seed === undefined
      ? { kind: 'hadamard' as const, block }
      : { kind: 'hadamard' as const, block, signs: seededSigns(dim, seed) };
  return {
    version: 1,
    dim,
    stages: [stage],
    meta: { generator: 'blockHadamard', block, ...(seed === undefined ? {} : { seed }) },
  };
}

/** A Haar-random orthogonal rotation (QR of a seeded Gaussian with the sign fix). Cost ~n³: keep dim ≲ 2048. */
export function randomOrthogonal(dim: number, seed: number): RotationSpec {
  checkDim(dim);
  return randomBlockOrthogonal(dim, dim, seed);
}

/** Block-diagonal random orthogonal: dim/block independent Haar blocks from one seeded stream. */
export function randomBlockOrthogonal(dim: number, block: number, seed: number): RotationSpec {
  checkDim(dim);
  checkBlock(dim, block);
  const rng = new Rng(seed);
  const matrices = new Float32Array(dim * block);
  for (let j = 0; j < dim / block; j++) matrices.set(haarOrthogonal(block, rng), j * block * block);
  return {
    version: 1,
    dim,
    stages: [{ kind: 'orthogonal', block, matrices }],
    meta: { generator: block === dim ? 'randomOrthogonal' : 'randomBlockOrthogonal', block, seed },
  };
}

/** The cascade R = R_a · R_b · …: stages of all specs in order (same dim). */
export function cascade(...specs: RotationSpec[]): RotationSpec {
  if (specs.length === 0) throw new NqInputError('specs', 'is empty', 'Pass at least one RotationSpec.');
  specs.forEach((s, i) => {
    validateRotationSpec(s, `specs[${i}]`);
  });
  const dim = specs[0]!.dim;
  specs.forEach((s, i) => {
    if (s.dim !== dim)
      throw new NqInputError(
        `specs[${i}].dim`,
        `is ${s.dim} but specs[0].dim is ${dim}`,
        'Cascade rotations of the same dimension only.',
      );
  });
  const spec: RotationSpec = {
    version: 1,
    dim,
    stages: specs.flatMap((s) => s.stages),
    meta: { generator: 'cascade', parts: specs.map((s) => s.meta ?? null) },
  };
  return validateRotationSpec(spec);
}
