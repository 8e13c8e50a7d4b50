import type { KernelCell, LayerCell } from '../sweep/cell.js';
import type { QuantDescriptor } from './catalog.js';

/**
 * Bits per element of a kernel-level quantizer on a rows × cols matrix, with the model-level
 * conventions (techniques/model-bits.ts): INT codes + a float32 scale per unit (+ a b-bit zero point
 * when asymmetric); NVFP4 E2M1 + an E4M3 scale per 16 + a float32 global scale; MXFP4 E2M1 + an E8M0
 * scale per 32; no quantizer = 32 (float32).
 */
export function quantizerBitsPerElement(q: QuantDescriptor | null, rows: number, cols: number): number {
  if (!q) return 32;
  const n = rows * cols;
  switch (q.format) {
    case 'nvfp4':
      return 4 + 8 / 16 + 32 / n;
    case 'mxfp4':
      return 4 + 8 / 32;
    case 'int':
      if (q.granularity === 'group') return q.bits + (32 + q.bits) / q.groupSize;
      if (q.granularity === 'token') return q.bits + 32 / cols;
      return q.bits + 32 / n;
  }
}

/**
 * The bits metrics of a kernel or layer row: the weight quantizer's bits per element (W is out ×
 * channels; per-row scales are per output row) and the activation quantizer's (per-token scales are
 * per token row of X).
 */
export function kernelBitsMetrics(
  spec: KernelCell | LayerCell,
  metrics: Record<string, number>,
): Record<string, number> {
  const channels = spec.study === 'kernel' ? spec.data.channels : (metrics.channels ?? Number.NaN);
  const out = spec.study === 'kernel' ? spec.data.out : (metrics.out ?? metrics.w_rows ?? 1);
  const tokens = spec.study === 'kernel' ? spec.data.tokens : spec.tokens;
  const w = quantizerBitsPerElement(spec.weight.spec?.quant ?? null, out, channels);
  return {
    bits_per_param: w,
    linear_bits_per_param: w,
    act_bits: quantizerBitsPerElement(spec.act.spec, tokens, channels),
  };
}
