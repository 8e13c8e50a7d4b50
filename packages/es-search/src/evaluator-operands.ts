import { assertFinite, assertMatrix, assertNonEmpty, type Matrix, NqInputError } from '@nq/core';
import { type CompiledRotation, compileRotation, type RotationSpec } from '@nq/hadamard';
import type { QuantTarget } from './types.js';

const TARGETS: readonly QuantTarget[] = ['int8', 'int4', 'w4a4'];

/**
 * The operand checks every evaluator backend (cpu, webgpu, gpujs) makes before any work: X is a
 * finite, non-empty tokens × in matrix, the target is known, and 'w4a4' has a finite out × in W
 * with X's inner dimension. Returns W for 'w4a4', null otherwise.
 */
export function checkEvaluatorOperands(x: Matrix, target: QuantTarget, w?: Matrix | null): Matrix | null {
  assertMatrix(x, 'x');
  assertNonEmpty(x, 'x');
  assertFinite(x, 'x');
  if (!TARGETS.includes(target))
    throw new NqInputError('target', `is ${JSON.stringify(target)}`, "Use 'int8', 'int4' or 'w4a4'.");
  if (target !== 'w4a4') return null;
  if (!w)
    throw new NqInputError(
      'w',
      "is missing for target 'w4a4'",
      "Pass the layer's weight (out × in), or use target 'int8'/'int4'.",
    );
  assertMatrix(w, 'w');
  assertNonEmpty(w, 'w');
  assertFinite(w, 'w');
  if (w.cols !== x.cols)
    throw new NqInputError(
      'w',
      `has ${w.cols} input channels but x has ${x.cols}`,
      'W is out × in and X is tokens × in: make the inner dimensions equal.',
    );
  return w;
}

/**
 * A batch of candidates compiled (already-compiled ones kept) and checked against the data's channel
 * count, as the batched GPU evaluators take them.
 */
export function compileCandidates(
  specs: readonly (RotationSpec | CompiledRotation)[],
  dim: number,
): CompiledRotation[] {
  const compiled = specs.map((s, i) =>
    'spec' in s && (s as CompiledRotation).spec
      ? (s as CompiledRotation)
      : compileRotation(s as RotationSpec, `specs[${i}]`),
  );
  compiled.forEach((c, i) => {
    if (c.dim !== dim)
      throw new NqInputError(
        `specs[${i}].dim`,
        `is ${c.dim} but the data has ${dim} channels`,
        'Search rotations of the layer input size.',
      );
  });
  return compiled;
}
