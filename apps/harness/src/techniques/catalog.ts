/**
 * The names a sweep file may use for rotations and quantizers, and the descriptor each name stands
 * for. A descriptor is plain JSON and is stored verbatim in every result row; `techniques/ops.ts`
 * turns it into calls to the technique packages.
 *
 * Names (also listed by `nq sweep --help` and in every validation error):
 *   rotation:  none | had | bhad<b> | ro
 *   act quant: none | int<bits>-token | int<bits>-tensor | int<bits>-g<group> | nvfp4 | mxfp4
 *   weight:    none | rtn-int<bits>-row | rtn-int<bits>-g<group>
 */

export type RotationDescriptor =
  | { kind: 'none' }
  /** Full random Hadamard H·diag(s)/√n (n = channels; non-powers of two are refused). */
  | { kind: 'hadamard' }
  /** Block-diagonal random Hadamard with blocks of `block` channels, one sign vector over all channels. */
  | { kind: 'block-hadamard'; block: number }
  /** Haar-random orthogonal matrix (QR of a Gaussian matrix with sign fix). */
  | { kind: 'random-orthogonal' };

/**
 * Activation / weight quantizer: a QuantSpec of @nq/quant-int4 / @nq/quant-fp (plain JSON, stored
 * verbatim in rows). Rounding is round-half-to-even everywhere.
 *  - int, token/tensor: symmetric, s = max|x|/(2^(b−1)−1) per row / per matrix.
 *  - int, group:        asymmetric min/max with a zero point per `groupSize` consecutive channels of a row.
 *  - nvfp4: E2M1 values, E4M3 scale per 16, FP32 global scale.   mxfp4: E2M1, E8M0 scale per 32.
 */
export type QuantDescriptor =
  | { format: 'int'; bits: number; granularity: 'token' | 'tensor'; symmetric: true }
  | { format: 'int'; bits: number; granularity: 'group'; groupSize: number; symmetric: false }
  | { format: 'nvfp4' }
  | { format: 'mxfp4' };

export interface WeightDescriptor {
  method: 'rtn';
  quant: QuantDescriptor;
}

export const ROTATION_NAMES_HELP =
  'none, had (full random Hadamard), bhad<b> (block-diagonal, b a power of two ≥ 2, e.g. bhad128), ro (random orthogonal)';
export const ACT_NAMES_HELP =
  'none, int<bits>-token, int<bits>-tensor, int<bits>-g<group> (bits 2–8, e.g. int4-token, int8-tensor, int4-g128), nvfp4, mxfp4';
export const WEIGHT_NAMES_HELP =
  'none, rtn-int<bits>-row (symmetric per output row), rtn-int<bits>-g<group> (asymmetric per group), rtn-nvfp4, rtn-mxfp4';

const isPow2 = (n: number) => Number.isInteger(n) && n >= 2 && (n & (n - 1)) === 0;

/** The descriptor for a rotation name, or null when the name is not one of ROTATION_NAMES_HELP. */
export function parseRotation(name: string): RotationDescriptor | null {
  if (name === 'none') return { kind: 'none' };
  if (name === 'had') return { kind: 'hadamard' };
  if (name === 'ro') return { kind: 'random-orthogonal' };
  const m = /^bhad(\d+)$/.exec(name);
  if (m) {
    const block = Number(m[1]);
    return isPow2(block) ? { kind: 'block-hadamard', block } : null;
  }
  return null;
}

/** The descriptor for an activation-quantizer name ('none' → null result is distinguished by the caller). */
export function parseQuant(name: string): QuantDescriptor | null {
  if (name === 'nvfp4') return { format: 'nvfp4' };
  if (name === 'mxfp4') return { format: 'mxfp4' };
  const m = /^int(\d)-(token|tensor|g(\d+))$/.exec(name);
  if (!m) return null;
  const bits = Number(m[1]);
  if (bits < 2 || bits > 8) return null;
  if (m[2] === 'token' || m[2] === 'tensor')
    return { format: 'int', bits, granularity: m[2], symmetric: true };
  const group = Number(m[3]);
  return isPow2(group)
    ? { format: 'int', bits, granularity: 'group', groupSize: group, symmetric: false }
    : null;
}

export function parseWeight(name: string): WeightDescriptor | null {
  if (name === 'rtn-nvfp4') return { method: 'rtn', quant: { format: 'nvfp4' } };
  if (name === 'rtn-mxfp4') return { method: 'rtn', quant: { format: 'mxfp4' } };
  const m = /^rtn-int(\d)-(row|g(\d+))$/.exec(name);
  if (!m) return null;
  const bits = Number(m[1]);
  if (bits < 2 || bits > 8) return null;
  if (m[2] === 'row')
    return { method: 'rtn', quant: { format: 'int', bits, granularity: 'token', symmetric: true } };
  const group = Number(m[3]);
  return isPow2(group)
    ? {
        method: 'rtn',
        quant: { format: 'int', bits, granularity: 'group', groupSize: group, symmetric: false },
      }
    : null;
}

/** Bits per element including scale overhead, for Pareto plots (16 for none). */
export function effectiveBits(q: QuantDescriptor | null): number {
  if (!q) return 16;
  switch (q.format) {
    case 'nvfp4':
      return 4 + 8 / 16; // E4M3 scale per 16 (+ a global scale, negligible)
    case 'mxfp4':
      return 4 + 8 / 32; // E8M0 scale per 32
    case 'int':
      // Per-token/per-tensor scales are negligible per element; a group pays a 16-bit scale + zero.
      return q.granularity === 'group' ? q.bits + 32 / q.groupSize : q.bits;
  }
}
