import { assertFinite, assertMatrix, assertNonEmpty, type Matrix, NqInputError } from '@nq/core';
import { fitLloydMax } from '@nq/gptq';
import { sphereCoordinateCodebook } from '../codebook.js';
import {
  checkGroupDivides,
  type ResolvedTurboQuantSpec,
  resolveTurboQuantSpec,
  type TurboQuantSpec,
} from '../spec.js';
import { forwardGroup, groupSigns, inverseGroup } from './transform.js';

/** A TurboQuant-coded weight: everything a decoder needs (and nothing else). */
export interface TurboQuantized {
  spec: ResolvedTurboQuantSpec;
  rows: number;
  cols: number;
  /** Centroid index per weight, rows × cols in rotated coordinates (row-major). */
  codes: Uint8Array;
  /** One float per (row, group): the decode scale (see spec.correction), rows × groups. */
  scales: Float32Array;
  /** The 2^bits centroids (ascending) of normalized rotated coordinates. */
  codebook: Float32Array;
  /** The tensor's sign vector (length groupSize); regenerated from seed + label. */
  signs: Float32Array;
  label: string;
}

/** Nearest centroid by binary search on the ascending codebook (ties go to the lower centroid). */
export function nearestCentroid(book: Float32Array, v: number): number {
  let lo = 0;
  let hi = book.length - 1;
  if (v <= book[0]!) return 0;
  if (v >= book[hi]!) return hi;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (book[mid]! <= v) lo = mid;
    else hi = mid;
  }
  return v - book[lo]! <= book[hi]! - v ? lo : hi;
}

/**
 * Normalized rotated coordinates y of every group (rows × cols) and the group norms (rows × groups).
 * A zero group stays zero with norm 0.
 */
export function rotateNormalized(
  w: Matrix,
  g: number,
  signs: Float32Array,
): { y: Float32Array; norms: Float64Array } {
  const { rows, cols } = w;
  const groups = cols / g;
  const y = new Float32Array(w.data);
  const norms = new Float64Array(rows * groups);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < groups; k++) {
      const off = r * cols + k * g;
      let ss = 0;
      for (let j = 0; j < g; j++) ss += y[off + j]! * y[off + j]!;
      const n = Math.sqrt(ss);
      norms[r * groups + k] = n;
      const inv = n > 0 ? 1 / n : 0;
      for (let j = 0; j < g; j++) y[off + j] = y[off + j]! * inv;
      forwardGroup(y, off, g, signs);
    }
  }
  return { y, norms };
}

/** Codes W with TurboQuant. `label` names the tensor (it seeds its sign vector with spec.seed). */
export function turboquantQuantize(w: Matrix, spec: TurboQuantSpec = {}, label = 'w'): TurboQuantized {
  assertMatrix(w, 'w');
  assertNonEmpty(w, 'w');
  assertFinite(w, 'w');
  const s = resolveTurboQuantSpec(spec);
  if (typeof label !== 'string')
    throw new NqInputError('label', 'must be a string', "Name the tensor, e.g. 'L0.q'.");
  const g = s.groupSize;
  checkGroupDivides(w.cols, g, 'w');
  const { rows, cols } = w;
  const groups = cols / g;
  const K = 1 << s.bits;
  const signs = groupSigns(s.seed, label, g);
  const { y, norms } = rotateNormalized(w, g, signs);

  let codebook: Float32Array;
  if (s.codebook === 'sphere') {
    codebook = sphereCoordinateCodebook(g, s.bits);
  } else {
    // Lloyd on this tensor's coordinates (zero groups left out: they carry no information)
    const vals: number[] = [];
    for (let r = 0; r < rows; r++)
      for (let k = 0; k < groups; k++)
        if (norms[r * groups + k]! > 0) for (let j = 0; j < g; j++) vals.push(y[r * cols + k * g + j]!);
    codebook = new Float32Array(K);
    if (vals.length === 0) codebook.set(sphereCoordinateCodebook(g, s.bits));
    else fitLloydMax(Float64Array.from(vals), K, 100, codebook, 0);
  }

  const codes = new Uint8Array(rows * cols);
  const scales = new Float32Array(rows * groups);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < groups; k++) {
      const off = r * cols + k * g;
      const n = norms[r * groups + k]!;
      let dot = 0; // ⟨y, ŷ⟩
      let qq = 0; // ‖ŷ‖²
      for (let j = 0; j < g; j++) {
        const v = y[off + j]!;
        const c = nearestCentroid(codebook, v);
        codes[off + j] = c;
        const q = codebook[c]!;
        dot += v * q;
        qq += q * q;
      }
      let scale = n;
      if (n === 0 || qq === 0) scale = 0;
      else if (s.correction === 'norm') scale = n / Math.sqrt(qq);
      else if (s.correction === 'mse') scale = (n * dot) / qq;
      scales[r * groups + k] = scale;
    }
  }
  return { spec: s, rows, cols, codes, scales, codebook, signs, label };
}

/** Ŵ from a TurboQuantized: centroids → inverse transform → × the group's scale. */
export function turboquantDequantize(q: TurboQuantized): Matrix {
  const { rows, cols, codes, scales, codebook, signs } = q;
  const g = q.spec.groupSize;
  const groups = cols / g;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < groups; k++) {
      const off = r * cols + k * g;
      const sc = scales[r * groups + k]!;
      for (let j = 0; j < g; j++) out[off + j] = codebook[codes[off + j]!]!;
      inverseGroup(out, off, g, signs);
      for (let j = 0; j < g; j++) out[off + j] = out[off + j]! * sc;
    }
  }
  return { rows, cols, data: out };
}

/** Quantize-dequantize: the weight a TurboQuant model computes with. */
export function turboquantFakeQuant(w: Matrix, spec: TurboQuantSpec = {}, label = 'w'): Matrix {
  return turboquantDequantize(turboquantQuantize(w, spec, label));
}
