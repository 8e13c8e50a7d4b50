import { assertFinite, assertMatrix, type Matrix, NqInputError } from '@nq/core';
import {
  type GptqOptions,
  type GptqResult,
  gptqQuantize,
  type Hessian,
  type SchemeParams,
  type SchemeRun,
  type WeightScheme,
} from '@nq/gptq';
import { sphereCoordinateCodebook } from './codebook.js';
import { forwardGroup, fwht64, groupSigns, inverseGroup } from './cpu/transform.js';
import { nearestCentroid } from './cpu/turboquant.js';
import { checkGroupDivides, resolveTurboQuantSpec, type TurboQuantSpec } from './spec.js';

/*
 * TurboQuant inside GPTQ.
 *
 * The TurboQuant transform of a group is linear and orthogonal once the norm is factored out, so the
 * whole tensor transform is W ↦ W·R with R block-diagonal (blocks diag(σ)·H/√g). Because
 * X·Wᵀ = (X·R)·(W·R)ᵀ, GPTQ can run on W·R with the Hessian Rᵀ·H·R: every rotated coordinate is
 * then quantized by a scalar scheme — per (row, group) scale = the L2 norm of the group's current
 * (error-compensated) values, centroids = the sphere-coordinate Lloyd-Max codebook — and GPTQ's
 * error feedback spreads each coordinate's error over the columns not yet quantized. Finally
 * Ŵ = Ŵ_R·Rᵀ.
 *
 * Norm correction is NOT applied inside GPTQ: the stored per-group float is the norm at fitting time,
 * and the error feedback already compensates the rounding; rescaling a group afterwards would undo
 * part of that compensation. Only the 'sphere' codebook is supported here (a fitted codebook would
 * have to be fitted before GPTQ changes the weights; not implemented).
 */

/** The scalar inner scheme on rotated coordinates: ŵ = n·c_k, n = ‖row of the group‖. */
export function turboquantScheme(opts: { bits?: number; groupSize?: number } = {}): WeightScheme {
  const s = resolveTurboQuantSpec({ bits: opts.bits, groupSize: opts.groupSize }, 'opts');
  const book = sphereCoordinateCodebook(s.groupSize, s.bits);
  const description = {
    kind: 'turboquant-rotated',
    bits: s.bits,
    groupSize: s.groupSize,
    codebook: 'sphere',
  };
  return {
    label: `turboquant${s.bits} g${s.groupSize}`,
    description,
    prepare: (w) => new TurboRun(w, s.groupSize, book),
  };
}

class TurboRun implements SchemeRun {
  readonly groupSize: number;
  readonly groups: number;
  private readonly rows: number;
  private readonly cols: number;
  private readonly norms: Float32Array;

  constructor(
    w: Matrix,
    g: number,
    private readonly book: Float32Array,
  ) {
    checkGroupDivides(w.cols, g, 'w');
    this.rows = w.rows;
    this.cols = w.cols;
    this.groupSize = g;
    this.groups = w.cols / g;
    this.norms = new Float32Array(this.rows * this.groups);
  }

  fitGroup(g: number, block: Float64Array, width: number): void {
    for (let r = 0; r < this.rows; r++) {
      let ss = 0;
      for (let j = 0; j < width; j++) {
        const v = block[r * width + j]!;
        ss += v * v;
      }
      this.norms[r * this.groups + g] = Math.sqrt(ss);
    }
  }

  quantizeColumn(
    g: number,
    x: Float64Array,
    out: Float64Array,
    codes: Int8Array | Uint8Array,
    col: number,
    cols: number,
  ): void {
    for (let r = 0; r < this.rows; r++) {
      const n = this.norms[r * this.groups + g]!;
      if (n === 0) {
        codes[r * cols + col] = 0;
        out[r] = 0;
        continue;
      }
      const k = nearestCentroid(this.book, x[r]! / n);
      codes[r * cols + col] = k;
      out[r] = Math.fround(n * this.book[k]!);
    }
  }

  newCodes(): Uint8Array {
    return new Uint8Array(this.rows * this.cols);
  }

  params(): SchemeParams {
    return {
      scales: this.norms,
      zeros: null,
      blockScaleCodes: null,
      globalScale: 1,
      scaleRows: this.rows,
      scaleCols: this.groups,
    };
  }

  toQuantized(): null {
    return null;
  }
}

/** W·R: every row's groups forward-transformed (float32, no normalization). */
export function rotateGroupsRight(w: Matrix, g: number, signs: Float32Array): Matrix {
  const d = new Float32Array(w.data);
  for (let off = 0; off < d.length; off += g) forwardGroup(d, off, g, signs);
  return { rows: w.rows, cols: w.cols, data: d };
}

/** W_R·Rᵀ: the inverse of rotateGroupsRight. */
export function unrotateGroupsRight(w: Matrix, g: number, signs: Float32Array): Matrix {
  const d = new Float32Array(w.data);
  for (let off = 0; off < d.length; off += g) inverseGroup(d, off, g, signs);
  return { rows: w.rows, cols: w.cols, data: d };
}

/** Rᵀ·H·R in float64 (H symmetric n × n; R block-diagonal with blocks diag(σ)·H_g/√g). */
export function rotateHessian(
  h: { n: number; data: Float64Array },
  g: number,
  signs: Float32Array,
): Float64Array {
  const n = h.n;
  const inv = 1 / Math.sqrt(g);
  // rows ↦ row·R: multiply by σ per group, FWHT, scale
  const rowsTimesR = (a: Float64Array): void => {
    for (let off = 0; off < a.length; off += g) {
      for (let j = 0; j < g; j++) a[off + j] = a[off + j]! * signs[j]!;
      fwht64(a, off, g);
      for (let j = 0; j < g; j++) a[off + j] = a[off + j]! * inv;
    }
  };
  const m = Float64Array.from(h.data);
  rowsTimesR(m); // H·R
  const t = new Float64Array(n * n); // (H·R)ᵀ = Rᵀ·H
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = m[i * n + j]!;
  rowsTimesR(t); // Rᵀ·H·R
  // symmetrize (float64 rounding)
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = (t[i * n + j]! + t[j * n + i]!) / 2;
      t[i * n + j] = v;
      t[j * n + i] = v;
    }
  }
  return t;
}

export interface GptqTurboQuantOptions extends Omit<GptqOptions, 'scheme'> {
  /** bits, groupSize, seed of the TurboQuant transform (codebook 'sphere'; correction ignored, see above). */
  spec?: TurboQuantSpec;
  /** Tensor label (seeds its sign vector together with spec.seed). */
  label?: string;
}

/** GPTQ with the TurboQuant inner quantizer: result.weight is Ŵ in the original coordinates. */
export function gptqTurboQuant(
  w: Matrix,
  h: Hessian | { n: number; data: Float64Array },
  opts: GptqTurboQuantOptions = {},
): GptqResult & { rotatedWeight: Matrix } {
  assertMatrix(w, 'w');
  assertFinite(w, 'w');
  const s = resolveTurboQuantSpec(opts.spec ?? {}, 'opts.spec');
  if (s.codebook !== 'sphere')
    throw new NqInputError(
      'opts.spec.codebook',
      `'${s.codebook}' is not supported inside GPTQ`,
      "Use codebook: 'sphere' (the default).",
    );
  checkGroupDivides(w.cols, s.groupSize, 'w');
  if (!h || h.n !== w.cols)
    throw new NqInputError(
      'h',
      `must be a ${w.cols}×${w.cols} Hessian, got n = ${String(h?.n)}`,
      'Accumulate the Hessian from this layer’s inputs (tokens × in).',
    );
  const signs = groupSigns(s.seed, opts.label ?? 'w', s.groupSize);
  const wr = rotateGroupsRight(w, s.groupSize, signs);
  const hr = { n: h.n, data: rotateHessian(h, s.groupSize, signs) };
  const { spec: _spec, label: _label, ...gopts } = opts;
  const res = gptqQuantize(wr, hr, {
    ...gopts,
    scheme: turboquantScheme({ bits: s.bits, groupSize: s.groupSize }),
  });
  return { ...res, rotatedWeight: res.weight, weight: unrotateGroupsRight(res.weight, s.groupSize, signs) };
}
