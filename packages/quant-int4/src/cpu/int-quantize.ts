import {
  assertFinite,
  assertMatrix,
  assertNonEmpty,
  type Matrix,
  NqInputError,
  NqUnsupportedError,
} from '@nq/core';
import { type ScaleLayout, scaleLayout } from '../layout.js';
import { roundHalfEven } from '../round.js';
import { clipSearchRatios, type QuantSpec, type ResolvedQuantSpec, resolveSpec } from '../spec.js';

// Inline round-half-to-even for the hot loops (same trick as round.ts; the call is not always inlined).
const MAGIC = 6755399441055744; // 1.5·2^52
const LIMIT = 2251799813685248; // 2^51
const rne = (t: number): number => (t < LIMIT && t > -LIMIT ? t + MAGIC - MAGIC : roundHalfEven(t));

/**
 * INT-b quantization, the reference implementation. Definitions (the ones eval's recipes name):
 *
 * symmetric  : s = p·max|x| / (2^(b−1) − 1),  q = clamp(rne(x/s), −2^(b−1), 2^(b−1) − 1),  x̂ = q·s
 * asymmetric : lo = p·min x, hi = p·max x,  s = (hi − lo) / (2^b − 1),  z = rne(−lo/s),
 *              q = clamp(rne(x/s) + z, 0, 2^b − 1),  x̂ = (q − z)·s
 * where p is the clip ratio (1 by default, or the per-unit winner of the clip search), min/max run
 * over the unit (tensor, row, column or group), and rne is round-half-to-even. Scales are stored as
 * float32 and the quantizer uses the stored value, so dequantize(quantize(x)) equals fakeQuant(x)
 * bit for bit. An all-zero unit gets s = 0 and codes 0.
 *
 * A constant unit (max = min = c) in asymmetric mode is left unchanged, as eval's w4a16 recipe
 * defines: it is stored exactly as s = |c| with z = 1, q = 0 for c < 0 and z = 0, q = 1 for c > 0
 * (and s = 0 for c = 0), so the codes/scales form still dequantizes to c.
 */
export interface IntQuantized {
  format: 'int';
  spec: ResolvedQuantSpec;
  rows: number;
  cols: number;
  layout: ScaleLayout;
  /** One code per element, row-major: Int8Array in [−2^(b−1), 2^(b−1)−1] when symmetric, Uint8Array in [0, 2^b−1] when asymmetric. */
  codes: Int8Array | Uint8Array;
  /** layout.scaleRows × layout.scaleCols float32 scales. */
  scales: Float32Array;
  /** Zero points (integers stored as float32), same shape as scales; null when symmetric. */
  zeros: Float32Array | null;
  /** The clip ratio each unit used (all = clipRatio unless clipSearch ran). */
  clipRatios: Float32Array;
}

/** Per-unit parameters of a quantizer. */
export interface IntParams {
  layout: ScaleLayout;
  scales: Float32Array;
  zeros: Float32Array | null;
  clipRatios: Float32Array;
}

/** Validates x (Matrix, non-empty, finite) and the spec; both errors are NqInputError naming the argument. */
export function checkIntInputs(
  x: Matrix,
  spec: QuantSpec | ResolvedQuantSpec,
  name = 'x',
): { s: ResolvedQuantSpec; layout: ScaleLayout } {
  assertMatrix(x, name);
  assertNonEmpty(x, name);
  const s = resolveSpec(spec);
  if (s.format !== 'int') {
    throw new NqUnsupportedError(
      `format "${s.format}" in @nq/quant-int4`,
      'This package quantizes format "int"; import quantize/fakeQuant from @nq/quant-fp for every format.',
    );
  }
  assertFinite(x, name);
  return { s, layout: scaleLayout(x.rows, x.cols, s, name) };
}

// ---------------------------------------------------------------- per-unit statistics

/** min and max of every unit. */
function unitMinMax(x: Matrix, l: ScaleLayout): { lo: Float64Array; hi: Float64Array } {
  const lo = new Float64Array(l.units).fill(Number.POSITIVE_INFINITY);
  const hi = new Float64Array(l.units).fill(Number.NEGATIVE_INFINITY);
  const d = x.data;
  if (l.span === 0) {
    // channel: walk row-major (cache friendly) and update the column's unit
    const c = l.cols;
    for (let i = 0; i < l.rows; i++) {
      const o = i * c;
      for (let j = 0; j < c; j++) {
        const v = d[o + j]!;
        if (v < lo[j]!) lo[j] = v;
        if (v > hi[j]!) hi[j] = v;
      }
    }
  } else {
    const span = l.span;
    for (let u = 0; u < l.units; u++) {
      let mn = Number.POSITIVE_INFINITY;
      let mx = Number.NEGATIVE_INFINITY;
      const end = (u + 1) * span;
      for (let f = u * span; f < end; f++) {
        const v = d[f]!;
        if (v < mn) mn = v;
        if (v > mx) mx = v;
      }
      lo[u] = mn;
      hi[u] = mx;
    }
  }
  return { lo, hi };
}

// ---------------------------------------------------------------- scale/zero from a range

/**
 * Writes the scale (and zero point) of one unit with range [lo, hi] at clip ratio p into
 * scales[u] / zeros[u]. Shared by the plain path and the clip search so both use identical math.
 */
export function setUnitParams(
  lo: number,
  hi: number,
  p: number,
  bits: number,
  symmetric: boolean,
  scales: Float32Array,
  zeros: Float32Array | null,
  u: number,
): void {
  if (symmetric) {
    const amax = p * Math.max(Math.abs(lo), Math.abs(hi));
    scales[u] = amax / ((1 << (bits - 1)) - 1);
    return;
  }
  if (lo === hi) {
    // constant unit: stored exactly (see the note at the top of this file)
    scales[u] = Math.abs(lo);
    zeros![u] = lo < 0 ? 1 : 0;
    return;
  }
  const s = Math.fround((p * hi - p * lo) / ((1 << bits) - 1));
  scales[u] = s;
  zeros![u] = s === 0 ? 0 : roundHalfEven((-p * lo) / s);
}

// ---------------------------------------------------------------- clip search

/** Σ|fq(x) − x|^norm over the elements start, start+stride, … (count of them) for the params at u. */
function unitError(
  d: Float32Array,
  start: number,
  stride: number,
  count: number,
  bits: number,
  symmetric: boolean,
  s: number,
  z: number,
  norm: number,
): number {
  let err = 0;
  const inv = s === 0 ? 0 : 1;
  if (symmetric) {
    const qmin = -(1 << (bits - 1));
    const qmax = (1 << (bits - 1)) - 1;
    for (let t = 0, f = start; t < count; t++, f += stride) {
      const v = d[f]!;
      let q = inv === 0 ? 0 : rne(v / s);
      q = q < qmin ? qmin : q > qmax ? qmax : q;
      const e = Math.abs(Math.fround(q * s) - v);
      err += norm === 2 ? e * e : e ** norm;
    }
  } else {
    const qmax = (1 << bits) - 1;
    for (let t = 0, f = start; t < count; t++, f += stride) {
      const v = d[f]!;
      let q = (inv === 0 ? 0 : rne(v / s)) + z;
      q = q < 0 ? 0 : q > qmax ? qmax : q;
      const e = Math.abs(Math.fround((q - z) * s) - v);
      err += norm === 2 ? e * e : e ** norm;
    }
  }
  return err;
}

/** Scales/zeros of every unit: at the spec's clip ratio, or the best ratio of the clip search. */
export function computeIntParams(x: Matrix, spec: QuantSpec | ResolvedQuantSpec, name = 'x'): IntParams {
  const { s, layout } = checkIntInputs(x, spec, name);
  const { lo, hi } = unitMinMax(x, layout);
  const scales = new Float32Array(layout.units);
  const zeros = s.symmetric ? null : new Float32Array(layout.units);
  const clipRatios = new Float32Array(layout.units).fill(s.clipSearch ? 1 : s.clipRatio);
  if (!s.clipSearch) {
    for (let u = 0; u < layout.units; u++)
      setUnitParams(lo[u]!, hi[u]!, s.clipRatio, s.bits, s.symmetric, scales, zeros, u);
    return { layout, scales, zeros, clipRatios };
  }
  const ratios = clipSearchRatios(s.clipSearch);
  const norm = s.clipSearch.norm;
  const tmpS = new Float32Array(1);
  const tmpZ = s.symmetric ? null : new Float32Array(1);
  const stride = layout.span === 0 ? layout.cols : 1;
  const count = layout.span === 0 ? layout.rows : layout.span;
  for (let u = 0; u < layout.units; u++) {
    const start = layout.span === 0 ? u : u * layout.span;
    let best = Number.POSITIVE_INFINITY;
    for (let r = 0; r < ratios.length; r++) {
      const p = ratios[r]!;
      setUnitParams(lo[u]!, hi[u]!, p, s.bits, s.symmetric, tmpS, tmpZ, 0);
      const err = unitError(
        x.data,
        start,
        stride,
        count,
        s.bits,
        s.symmetric,
        tmpS[0]!,
        tmpZ ? tmpZ[0]! : 0,
        norm,
      );
      if (err < best) {
        best = err;
        scales[u] = tmpS[0]!;
        if (zeros) zeros[u] = tmpZ![0]!;
        clipRatios[u] = p;
      }
    }
  }
  return { layout, scales, zeros, clipRatios };
}

// ---------------------------------------------------------------- quantize / dequantize / fake-quant

/** Scale index of flat element f (row-major). */
function unitOfFlat(l: ScaleLayout, f: number): number {
  return l.span === 0 ? f % l.cols : Math.floor(f / l.span);
}

/** Integer codes, scales and zero points of x. */
export function quantizeInt(x: Matrix, spec: QuantSpec | ResolvedQuantSpec, name = 'x'): IntQuantized {
  const sp = resolveSpec(spec);
  const params = computeIntParams(x, sp, name);
  const { layout, scales, zeros } = params;
  const n = x.rows * x.cols;
  const d = x.data;
  const bits = sp.bits;
  if (sp.symmetric) {
    const codes = new Int8Array(n);
    const qmin = -(1 << (bits - 1));
    const qmax = (1 << (bits - 1)) - 1;
    for (let f = 0; f < n; f++) {
      const s = scales[unitOfFlat(layout, f)]!;
      let q = s === 0 ? 0 : rne(d[f]! / s);
      q = q < qmin ? qmin : q > qmax ? qmax : q;
      codes[f] = q;
    }
    return {
      format: 'int',
      spec: sp,
      rows: x.rows,
      cols: x.cols,
      layout,
      codes,
      scales,
      zeros: null,
      clipRatios: params.clipRatios,
    };
  }
  const codes = new Uint8Array(n);
  const qmax = (1 << bits) - 1;
  for (let f = 0; f < n; f++) {
    const u = unitOfFlat(layout, f);
    const s = scales[u]!;
    let q = (s === 0 ? 0 : rne(d[f]! / s)) + zeros![u]!;
    q = q < 0 ? 0 : q > qmax ? qmax : q;
    codes[f] = q;
  }
  return {
    format: 'int',
    spec: sp,
    rows: x.rows,
    cols: x.cols,
    layout,
    codes,
    scales,
    zeros,
    clipRatios: params.clipRatios,
  };
}

/** x̂ = (q − z)·s (or q·s when symmetric), rounded to float32. */
export function dequantizeInt(q: IntQuantized): Matrix {
  const { layout, codes, scales, zeros } = q;
  const n = q.rows * q.cols;
  if (codes.length !== n)
    throw new NqInputError(
      'q.codes',
      `has ${codes.length} codes for a ${q.rows}×${q.cols} matrix`,
      'Pass the object quantizeInt returned (unpack packed codes first).',
    );
  if (scales.length !== layout.units)
    throw new NqInputError(
      'q.scales',
      `has ${scales.length} scales, the layout needs ${layout.units}`,
      'Pass the object quantizeInt returned.',
    );
  const out = new Float32Array(n);
  for (let f = 0; f < n; f++) {
    const u = unitOfFlat(layout, f);
    out[f] = (codes[f]! - (zeros ? zeros[u]! : 0)) * scales[u]!;
  }
  return { rows: q.rows, cols: q.cols, data: out };
}

/**
 * Quantize-dequantize in one pass (no codes materialised): equals dequantizeInt(quantizeInt(x, spec))
 * exactly. For token/group/tensor the loop runs unit by unit with the scale hoisted.
 */
export function fakeQuantInt(x: Matrix, spec: QuantSpec | ResolvedQuantSpec, name = 'x'): Matrix {
  const sp = resolveSpec(spec);
  const { layout, scales, zeros } = computeIntParams(x, sp, name);
  const out = new Float32Array(x.rows * x.cols);
  fakeQuantIntWithParams(x.data, out, layout, scales, zeros, sp.bits);
  return { rows: x.rows, cols: x.cols, data: out };
}

/** The fake-quant loop given precomputed params (exported for GPTQ-style column-at-a-time use). */
export function fakeQuantIntWithParams(
  d: Float32Array,
  out: Float32Array,
  layout: ScaleLayout,
  scales: Float32Array,
  zeros: Float32Array | null,
  bits: number,
): void {
  const sym = zeros === null;
  const lo = sym ? -(1 << (bits - 1)) : 0;
  const hi = sym ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
  if (layout.span === 0) {
    const c = layout.cols;
    for (let i = 0; i < layout.rows; i++) {
      const o = i * c;
      for (let j = 0; j < c; j++) {
        const s = scales[j]!;
        const z = sym ? 0 : zeros[j]!;
        let q = (s === 0 ? 0 : rne(d[o + j]! / s)) + z;
        q = q < lo ? lo : q > hi ? hi : q;
        out[o + j] = (q - z) * s;
      }
    }
    return;
  }
  const span = layout.span;
  for (let u = 0; u < layout.units; u++) {
    const s = scales[u]!;
    const z = sym ? 0 : zeros[u]!;
    const end = (u + 1) * span;
    if (s === 0) {
      for (let f = u * span; f < end; f++) out[f] = 0;
      continue;
    }
    for (let f = u * span; f < end; f++) {
      const t = d[f]! / s;
      let q = (t < LIMIT && t > -LIMIT ? t + MAGIC - MAGIC : roundHalfEven(t)) + z;
      q = q < lo ? lo : q > hi ? hi : q;
      out[f] = (q - z) * s;
    }
  }
}
