import type { Matrix } from '@nq/core';
import {
  dequantizeInt,
  fakeQuantInt,
  type GemmErrorOptions,
  type GemmErrorReport,
  gemmError as gemmErrorInt,
  type IntQuantized,
  type Quantizer,
  type QuantSpec,
  quantizeInt,
  type ResolvedQuantSpec,
  resolveSpec,
} from '@nq/quant-int4';
import { dequantizeFp, type FpQuantized, fakeQuantFp, quantizeFp } from './cpu/fp-quantize.js';

/**
 * The one dispatcher over every QuantSpec format (CPU reference). Users who may get any spec —
 * eval recipes, GPTQ's inner quantizer, the harness — import these from @nq/quant-fp.
 */
export type Quantized = IntQuantized | FpQuantized;

export function quantize(x: Matrix, spec: QuantSpec | ResolvedQuantSpec, name = 'x'): Quantized {
  const s = resolveSpec(spec);
  return s.format === 'int' ? quantizeInt(x, s, name) : quantizeFp(x, s, name);
}

export function dequantize(q: Quantized): Matrix {
  return q.format === 'int' ? dequantizeInt(q) : dequantizeFp(q);
}

/** x ↦ dq(Q(x)) for any format; equals dequantize(quantize(x, spec)) exactly. */
export function fakeQuant(x: Matrix, spec: QuantSpec | ResolvedQuantSpec, name = 'x'): Matrix {
  const s = resolveSpec(spec);
  return s.format === 'int' ? fakeQuantInt(x, s, name) : fakeQuantFp(x, s, name);
}

/** A Quantizer function for a spec of any format (validated now, not at first use). */
export function quantizerFor(spec: QuantSpec | ResolvedQuantSpec, name = 'spec'): Quantizer {
  const s = resolveSpec(spec, name);
  return (m: Matrix) => fakeQuant(m, s, name);
}

/** @nq/quant-int4's gemmError with activation/weight specs of any format. */
export function gemmError(x: Matrix, w: Matrix, options: GemmErrorOptions = {}): GemmErrorReport {
  return gemmErrorInt(x, w, options, (s) => quantizerFor(s));
}
