import { NqInputError } from '@nq/core';
import { type QuantSpec, quantizerFor } from '@nq/quant-fp';

/**
 * The two W4A4 settings of this package. Activations are quantized dynamically at run time; weights
 * once, after the decoder (or rotation) is fused into them.
 * - 'int4':  activations INT4 symmetric per token (s = max|x|/7, clamp −8..7, half to even);
 *            weights INT4 symmetric per output row.
 * - 'nvfp4': activations and weights NVFP4 (E2M1, E4M3 scale per 16 consecutive elements of a row,
 *            FP32 global scale per matrix — per calibration/evaluation window for activations).
 */
export type W4A4Format = 'int4' | 'nvfp4';

export const W4A4_FORMATS: readonly W4A4Format[] = ['int4', 'nvfp4'];

export function assertFormat(f: unknown, name = 'format'): W4A4Format {
  if (f !== 'int4' && f !== 'nvfp4')
    throw new NqInputError(name, `is ${JSON.stringify(f)}`, "Use 'int4' or 'nvfp4'.");
  return f;
}

export function activationSpec(format: W4A4Format): QuantSpec {
  return assertFormat(format) === 'int4'
    ? { format: 'int', bits: 4, granularity: 'token', symmetric: true }
    : { format: 'nvfp4' };
}

export function weightSpec(format: W4A4Format): QuantSpec {
  return assertFormat(format) === 'int4'
    ? { format: 'int', bits: 4, granularity: 'token', symmetric: true }
    : { format: 'nvfp4' };
}

/** Fake-quantizes `rows` rows of `cols` (row-major float32) into `dst` (may alias `src`). */
export type RowQuantizer = (src: Float32Array, rows: number, cols: number, dst: Float32Array) => void;

/**
 * A row quantizer from a QuantSpec (through @nq/quant-fp's dispatcher, the project's tested
 * quantizers). `chunkRows` (default: all rows at once) splits the rows into independent matrices:
 * for NVFP4 the global scale is per matrix, so calibration quantizes one window (sequence) at a time
 * as the model does at run time.
 */
export function rowQuantizer(spec: QuantSpec, chunkRows = 0): RowQuantizer {
  const q = quantizerFor(spec, 'activation spec');
  return (src, rows, cols, dst) => {
    const step = chunkRows > 0 ? chunkRows : rows;
    for (let r0 = 0; r0 < rows; r0 += step) {
      const r1 = Math.min(rows, r0 + step);
      const m = q({ rows: r1 - r0, cols, data: src.subarray(r0 * cols, r1 * cols) });
      dst.set(m.data, r0 * cols);
    }
  };
}
