import { NqInputError } from './errors.js';

/**
 * Backend conformance: compare a backend's output with the CPU reference on the same inputs.
 * Errors are reported as max |a−e| and max |a−e| / max |e| (relative to the reference's scale, which
 * stays meaningful when single reference values are near zero).
 */
export interface Tolerance {
  /** Allowed max |actual − expected|. */
  abs?: number;
  /** Allowed max |actual − expected| / max |expected|. */
  rel?: number;
}

export interface Comparison {
  maxAbs: number;
  maxRel: number;
  /** Flat index of the largest absolute difference. */
  worstIndex: number;
  ok: boolean;
  count: number;
}

export function compareArrays(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance = {},
): Comparison {
  if (actual.length !== expected.length) {
    throw new NqInputError(
      'actual',
      `has length ${actual.length}, the reference has ${expected.length}`,
      'Compare outputs of the same shape.',
    );
  }
  let maxAbs = 0;
  let worst = -1;
  let scale = 0;
  let bad = false;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    if (Number.isNaN(a) !== Number.isNaN(e)) bad = true;
    const d = Math.abs(a - e);
    if (d > maxAbs || Number.isNaN(d)) {
      maxAbs = Number.isNaN(d) ? (Number.isNaN(a) && Number.isNaN(e) ? maxAbs : Number.POSITIVE_INFINITY) : d;
      worst = i;
    }
    const ae = Math.abs(e);
    if (ae > scale) scale = ae;
  }
  const maxRel = scale > 0 ? maxAbs / scale : maxAbs;
  const okAbs = tol.abs === undefined || maxAbs <= tol.abs;
  const okRel = tol.rel === undefined || maxRel <= tol.rel;
  return { maxAbs, maxRel, worstIndex: worst, ok: !bad && okAbs && okRel, count: expected.length };
}

/** Human-readable one-liner for test failure messages. */
export function describeComparison(label: string, c: Comparison, tol: Tolerance): string {
  return `${label}: maxAbs=${c.maxAbs.toExponential(3)} maxRel=${c.maxRel.toExponential(3)} (tol abs=${tol.abs ?? '-'} rel=${tol.rel ?? '-'}) worst@${c.worstIndex} over ${c.count}`;
}

/**
 * Runs `backendOp` and `cpuOp` on the same inputs and compares. Throws (with the numbers) when the
 * backend is outside tolerance; returns the comparison otherwise, for logging.
 */
export async function checkConformance<I>(
  label: string,
  inputs: I,
  cpuOp: (inputs: I) => ArrayLike<number> | Promise<ArrayLike<number>>,
  backendOp: (inputs: I) => ArrayLike<number> | Promise<ArrayLike<number>>,
  tol: Tolerance,
): Promise<Comparison> {
  const expected = await cpuOp(inputs);
  const actual = await backendOp(inputs);
  const c = compareArrays(actual, expected, tol);
  if (!c.ok) throw new Error(`conformance failed — ${describeComparison(label, c, tol)}`);
  return c;
}
