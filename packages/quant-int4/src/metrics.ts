import { NqInputError } from '@nq/core';

/**
 * Error of an approximation against a reference, accumulated in float64:
 *   mse = Σ(a − r)² / n,  snrDb = 10·log10(Σr² / Σ(a − r)²)  (+∞ when exact),  maxAbs = max |a − r|.
 */
export interface ErrorStats {
  mse: number;
  snrDb: number;
  maxAbs: number;
  /** Σ(a − r)². */
  sse: number;
  /** Σr². */
  signal: number;
  count: number;
}

export function errorStats(
  reference: ArrayLike<number>,
  approx: ArrayLike<number>,
  name = 'approx',
): ErrorStats {
  if (reference.length !== approx.length) {
    throw new NqInputError(
      name,
      `has ${approx.length} elements, the reference has ${reference.length}`,
      'Compare arrays of the same shape.',
    );
  }
  let sse = 0;
  let sig = 0;
  let maxAbs = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i]!;
    const d = approx[i]! - r;
    sse += d * d;
    sig += r * r;
    const a = Math.abs(d);
    if (a > maxAbs || Number.isNaN(a)) maxAbs = a;
  }
  return statsFromSums(sse, sig, maxAbs, reference.length);
}

/** Builds ErrorStats from partial sums (as the GPU kernels return them). */
export function statsFromSums(sse: number, signal: number, maxAbs: number, count: number): ErrorStats {
  const mse = count > 0 ? sse / count : 0;
  const snrDb = sse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10(signal / sse);
  return { mse, snrDb, maxAbs, sse, signal, count };
}

export const mse = (reference: ArrayLike<number>, approx: ArrayLike<number>): number =>
  errorStats(reference, approx).mse;
export const snrDb = (reference: ArrayLike<number>, approx: ArrayLike<number>): number =>
  errorStats(reference, approx).snrDb;
export const maxAbsError = (reference: ArrayLike<number>, approx: ArrayLike<number>): number =>
  errorStats(reference, approx).maxAbs;
