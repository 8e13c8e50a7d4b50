import { type Matrix, NqInputError, NqUnsupportedError } from '@nq/core';
import { gemmABt } from './cpu/gemm.js';
import { fakeQuantInt } from './cpu/int-quantize.js';
import { checkGemmOperands } from './gemm-operands.js';
import { type ErrorStats, errorStats } from './metrics.js';
import { type QuantSpec, type ResolvedQuantSpec, resolveSpec } from './spec.js';

/** A fake-quantizer: x ↦ dq(Q(x)), same shape. */
export type Quantizer = (m: Matrix) => Matrix;
/** A rotation applied on the right: x ↦ x·R (R orthogonal, k×k). E.g. from @nq/hadamard. */
export type Rotation = (m: Matrix) => Matrix;

export interface GemmErrorOptions {
  /** x ↦ x·R applied to both X and W (default: identity, no rotation). */
  rotate?: Rotation | null;
  /** Activation quantizer: a spec or a function (null/undefined: activations kept in full precision). */
  activation?: QuantSpec | ResolvedQuantSpec | Quantizer | null;
  /** Weight quantizer, applied to each row of W·R (null/undefined: full precision). */
  weight?: QuantSpec | ResolvedQuantSpec | Quantizer | null;
}

/**
 * The W4A4 GEMM error of one linear layer (X: tokens × k, W: out × k):
 *   Y  = X·Wᵀ  (the full-precision output, no rotation)
 *   Ŷ  = dq(Q_a(X·R)) · dq(Q_w(W·R))ᵀ
 * and the two component errors, each against its own full-precision operand:
 *   activation: X·R vs dq(Q_a(X·R)),   weight: W·R vs dq(Q_w(W·R)).
 * (With R orthogonal, X·R·(W·R)ᵀ = X·Wᵀ, so rotation changes only the quantization error.)
 */
export interface GemmErrorReport {
  gemm: ErrorStats;
  activation: ErrorStats;
  weight: ErrorStats;
  shape: { tokens: number; k: number; out: number };
}

/** Turns a spec or function into a Quantizer; specs of non-int formats need @nq/quant-fp's resolver. */
export function toQuantizer(
  q: QuantSpec | ResolvedQuantSpec | Quantizer | null | undefined,
  name: string,
  resolveFormat?: (spec: ResolvedQuantSpec) => Quantizer,
): Quantizer {
  if (q === null || q === undefined) return (m) => m;
  if (typeof q === 'function') return q;
  const s = resolveSpec(q, name);
  if (resolveFormat) return resolveFormat(s);
  if (s.format !== 'int') {
    throw new NqUnsupportedError(
      `${name}.format "${s.format}" in @nq/quant-int4's gemmError`,
      'Use gemmError from @nq/quant-fp, which handles every format.',
    );
  }
  return (m) => fakeQuantInt(m, s, name);
}

export function gemmError(
  x: Matrix,
  w: Matrix,
  options: GemmErrorOptions = {},
  resolveFormat?: (spec: ResolvedQuantSpec) => Quantizer,
): GemmErrorReport {
  checkGemmOperands(x, w);
  const qa = toQuantizer(options.activation, 'activation', resolveFormat);
  const qw = toQuantizer(options.weight, 'weight', resolveFormat);
  const rot = options.rotate ?? ((m: Matrix) => m);
  const xr = rot(x);
  const wr = rot(w);
  if (xr.rows !== x.rows || xr.cols !== x.cols || wr.rows !== w.rows || wr.cols !== w.cols) {
    throw new NqInputError(
      'rotate',
      `changed the shape (${x.rows}×${x.cols} → ${xr.rows}×${xr.cols})`,
      'Pass a rotation x ↦ x·R with R square of size in-features.',
    );
  }
  const xq = qa(xr);
  const wq = qw(wr);
  const y = gemmABt(x, w);
  const yq = gemmABt(xq, wq);
  return {
    gemm: errorStats(y.data, yq.data),
    activation: errorStats(xr.data, xq.data),
    weight: errorStats(wr.data, wq.data),
    shape: { tokens: x.rows, k: x.cols, out: w.rows },
  };
}
