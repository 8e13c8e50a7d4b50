// Input checks shared by the CPU and WebGPU GEMM-error paths (internal: not re-exported by index.ts).
import { assertFinite, assertMatrix, assertNonEmpty, type Matrix, NqInputError } from '@nq/core';

/** x (tokens × in) and w (out × in): finite, non-empty matrices with the same inner dimension. */
export function checkGemmOperands(x: Matrix, w: Matrix): void {
  assertMatrix(x, 'x');
  assertMatrix(w, 'w');
  assertNonEmpty(x, 'x');
  assertNonEmpty(w, 'w');
  if (x.cols !== w.cols)
    throw new NqInputError(
      'w',
      `has ${w.cols} input channels but x has ${x.cols}`,
      'W is out × in and X is tokens × in; make the inner dimensions equal.',
    );
  assertFinite(x, 'x');
  assertFinite(w, 'w');
}
