import { NqFormatError, NqInputError } from '@nq/core';
import type { ModelConfig } from './types.js';

/** Limits that no real LLaMA-family model exceeds; a header beyond them is corrupt or hostile. */
export const CONFIG_LIMITS = {
  dim: 1 << 16,
  nLayers: 1024,
  nHeads: 1024,
  hiddenDim: 1 << 20,
  vocabSize: 1 << 22,
  seqLen: 1 << 24,
} as const;

/** Head size (dim / nHeads). */
export function headDim(c: ModelConfig): number {
  return c.dim / c.nHeads;
}

/** Width of the K and V projections (nKvHeads · headDim). */
export function kvDim(c: ModelConfig): number {
  return (c.dim / c.nHeads) * c.nKvHeads;
}

/**
 * Checks that a config describes a buildable model. `file` set: problems are NqFormatError against
 * that file (a loader read it); unset: NqInputError against the `config` argument.
 */
export function validateConfig(c: ModelConfig, file?: string): void {
  const fail = (problem: string): never => {
    if (file !== undefined) throw new NqFormatError(file, `invalid model config: ${problem}`);
    throw new NqInputError(
      'config',
      problem,
      'Pass a consistent ModelConfig (dim divisible by nHeads, nHeads by nKvHeads, positive sizes).',
    );
  };
  const ints: [keyof typeof CONFIG_LIMITS | 'nKvHeads', number][] = [
    ['dim', CONFIG_LIMITS.dim],
    ['nLayers', CONFIG_LIMITS.nLayers],
    ['nHeads', CONFIG_LIMITS.nHeads],
    ['nKvHeads', CONFIG_LIMITS.nHeads],
    ['hiddenDim', CONFIG_LIMITS.hiddenDim],
    ['vocabSize', CONFIG_LIMITS.vocabSize],
    ['seqLen', CONFIG_LIMITS.seqLen],
  ];
  for (const [k, max] of ints) {
    const v = c[k];
    if (!Number.isInteger(v) || v <= 0 || v > max) fail(`${k} = ${v} (must be an integer in [1, ${max}])`);
  }
  if (c.dim % c.nHeads !== 0) fail(`dim ${c.dim} is not divisible by nHeads ${c.nHeads}`);
  if (c.nHeads % c.nKvHeads !== 0) fail(`nHeads ${c.nHeads} is not divisible by nKvHeads ${c.nKvHeads}`);
  if ((c.dim / c.nHeads) % 2 !== 0) fail(`head size ${c.dim / c.nHeads} is odd (RoPE rotates pairs)`);
  if (!(c.normEps > 0 && c.normEps < 1)) fail(`normEps = ${c.normEps} (must be in (0, 1))`);
  if (!(c.ropeTheta > 1 && Number.isFinite(c.ropeTheta)))
    fail(`ropeTheta = ${c.ropeTheta} (must be a finite number > 1)`);
}
