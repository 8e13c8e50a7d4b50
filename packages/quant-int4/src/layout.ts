import { NqInputError } from '@nq/core';
import type { Granularity, ResolvedQuantSpec } from './spec.js';

/**
 * Where the scales of a rows × cols matrix live. A "unit" is the set of elements sharing one scale.
 * Scales (and zero points) are stored row-major as scaleRows × scaleCols:
 *   tensor → 1 × 1, token → rows × 1, channel → 1 × cols, group → rows × (cols / groupSize).
 * For tensor/token/group a unit is a contiguous run of `span` elements in row-major order, so the
 * unit of flat index f is ⌊f / span⌋; for channel the unit of (i, j) is j (span = 0).
 */
export interface ScaleLayout {
  granularity: Granularity;
  rows: number;
  cols: number;
  groupSize: number;
  scaleRows: number;
  scaleCols: number;
  units: number;
  span: number;
}

export function scaleLayout(rows: number, cols: number, spec: ResolvedQuantSpec, name = 'x'): ScaleLayout {
  const g = spec.granularity;
  const base = { granularity: g, rows, cols, groupSize: spec.groupSize };
  switch (g) {
    case 'tensor':
      return { ...base, scaleRows: 1, scaleCols: 1, units: 1, span: rows * cols };
    case 'token':
      return { ...base, scaleRows: rows, scaleCols: 1, units: rows, span: cols };
    case 'channel':
      return { ...base, scaleRows: 1, scaleCols: cols, units: cols, span: 0 };
    case 'group': {
      const gs = spec.groupSize;
      if (cols % gs !== 0) {
        throw new NqInputError(
          name,
          `has ${cols} columns, which group size ${gs} does not divide`,
          `Use a groupSize that divides ${cols} (e.g. ${largestDivisorAtMost(cols, gs)}), or pad the rows.`,
        );
      }
      return { ...base, scaleRows: rows, scaleCols: cols / gs, units: (rows * cols) / gs, span: gs };
    }
  }
}

function largestDivisorAtMost(n: number, m: number): number {
  for (let d = Math.min(n, m); d > 1; d--) if (n % d === 0) return d;
  return 1;
}

/** Unit (scale index) of element (i, j). For tests and slow paths; kernels use `span` directly. */
export function unitOf(l: ScaleLayout, i: number, j: number): number {
  if (l.span === 0) return j;
  return Math.floor((i * l.cols + j) / l.span);
}
