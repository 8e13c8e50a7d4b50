import { assertFinite, assertMatrix, assertNonEmpty, type Matrix, NqInputError } from '@nq/core';
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
