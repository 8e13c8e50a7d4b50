import {
  assertFinite,
  assertMatrix,
  assertNonEmpty,
  type Matrix,
  NqInputError,
  NqUnsupportedError,
} from '@nq/core';
import {
  clipSearchRatios,
  type QuantSpec,
  type ResolvedQuantSpec,
  resolveSpec,
  type ScaleLayout,
  scaleLayout,
} from '@nq/quant-int4';
import {
  decodeE8M0,
  decodeMiniFloat,
  E2M1,
  E4M3,
  E5M2,
  encodeE8M0,
  encodeMiniFloat,
  floorLog2,
  type MiniFloatFormat,
  roundToMiniFloat,
} from '../formats/minifloat.js';

/**
 * Floating-point quantization, the reference implementation. Definitions:
 *
 * fp8_e4m3 / fp8_e5m2 : per unit (tensor/token/channel/group) s = p·max|x| / FMAX (448 or 57344,
 *   stored as float32), code = fp8(x/s) (nearest, ties to even, saturating), x̂ = decode(code)·s.
 * nvfp4 (NVIDIA): one FP32 global scale g = max|X| / (6·448) over the whole matrix; per 16
 *   consecutive elements of a row a block scale b = e4m3(max|block| / 6 / g) (an E4M3 code);
 *   code = e2m1(x / (b·g)), x̂ = decode(code)·(b·g) with b·g rounded to float32.
 * mxfp4 (OCP MX v1.0): per 32 consecutive elements of a row, shared exponent
 *   E = ⌊log2 max|block|⌋ − 2 (2 = emax of E2M1), clamped to −127..127, scale 2^E as an E8M0 code;
 *   code = e2m1(x / 2^E) saturating at ±6, x̂ = decode(code)·2^E. An all-zero block gets E = −127.
 * A unit whose scale is 0 (all zeros) quantizes to codes 0 / x̂ = 0. x̂ is rounded to float32.
 */
export type FpFormat = 'fp8_e4m3' | 'fp8_e5m2' | 'nvfp4' | 'mxfp4';

export interface FpQuantized {
  format: FpFormat;
  spec: ResolvedQuantSpec;
  rows: number;
  cols: number;
  layout: ScaleLayout;
  /** One element code per element, row-major (8-bit FP8 codes, or 4-bit E2M1 codes unpacked; pack with packInt4). */
  codes: Uint8Array;
  /** Effective float32 scale of each unit (fp8: s; nvfp4: b·g; mxfp4: 2^E), layout.scaleRows × scaleCols. */
  scales: Float32Array;
  /** nvfp4: the E4M3 code of each block scale; mxfp4: the E8M0 code of each block; null for fp8. */
  blockScaleCodes: Uint8Array | null;
  /** nvfp4: the FP32 global scale g; 1 otherwise. */
  globalScale: number;
  /** The clip ratio each unit used (fp8; 1 for the fp4 formats). */
  clipRatios: Float32Array;
}

export const FP8_FORMATS: Record<'fp8_e4m3' | 'fp8_e5m2', MiniFloatFormat> = {
  fp8_e4m3: E4M3,
  fp8_e5m2: E5M2,
};

export function checkFpInputs(
  x: Matrix,
  spec: QuantSpec | ResolvedQuantSpec,
  name = 'x',
): { s: ResolvedQuantSpec; layout: ScaleLayout } {
  assertMatrix(x, name);
  assertNonEmpty(x, name);
  const s = resolveSpec(spec);
  if (s.format === 'int')
    throw new NqUnsupportedError(
      'format "int" in the fp quantizer',
      'Use quantize/fakeQuant (the dispatcher) or @nq/quant-int4.',
    );
  assertFinite(x, name);
  return { s, layout: scaleLayout(x.rows, x.cols, s, name) };
}

/** max |x| of every unit (same layouts as INT). */
function unitAbsMax(x: Matrix, l: ScaleLayout): Float64Array {
  const m = new Float64Array(l.units);
  const d = x.data;
  if (l.span === 0) {
    for (let i = 0; i < l.rows; i++) {
      const o = i * l.cols;
      for (let j = 0; j < l.cols; j++) {
        const a = Math.abs(d[o + j]!);
        if (a > m[j]!) m[j] = a;
      }
    }
    return m;
  }
  for (let u = 0; u < l.units; u++) {
    let a = 0;
    const end = (u + 1) * l.span;
    for (let f = u * l.span; f < end; f++) {
      const v = Math.abs(d[f]!);
      if (v > a) a = v;
    }
    m[u] = a;
  }
  return m;
}

function unitOfFlat(l: ScaleLayout, f: number): number {
  return l.span === 0 ? f % l.cols : Math.floor(f / l.span);
}

// ---------------------------------------------------------------- per-unit scales

/** Effective scales (and block-scale codes) of every unit. */
export function computeFpScales(
  x: Matrix,
  spec: QuantSpec | ResolvedQuantSpec,
  name = 'x',
): Pick<FpQuantized, 'layout' | 'scales' | 'blockScaleCodes' | 'globalScale' | 'clipRatios'> & {
  spec: ResolvedQuantSpec;
} {
  const { s, layout } = checkFpInputs(x, spec, name);
  const amax = unitAbsMax(x, layout);
  const scales = new Float32Array(layout.units);
  const clipRatios = new Float32Array(layout.units).fill(1);
  if (s.format === 'fp8_e4m3' || s.format === 'fp8_e5m2') {
    const fmt = FP8_FORMATS[s.format];
    if (!s.clipSearch) {
      for (let u = 0; u < layout.units; u++) scales[u] = (s.clipRatio * amax[u]!) / fmt.max;
      clipRatios.fill(s.clipRatio);
    } else {
      fp8ClipSearch(x, layout, fmt, amax, s.clipSearch, scales, clipRatios);
    }
    return { spec: s, layout, scales, blockScaleCodes: null, globalScale: 1, clipRatios };
  }
  const codes = new Uint8Array(layout.units);
  if (s.format === 'nvfp4') {
    let t = 0;
    for (let u = 0; u < layout.units; u++) if (amax[u]! > t) t = amax[u]!;
    const g = Math.fround(t / (6 * 448));
    for (let u = 0; u < layout.units; u++) {
      if (g === 0) continue; // all-zero tensor: scales 0
      const c = encodeMiniFloat(E4M3, amax[u]! / 6 / g);
      codes[u] = c;
      scales[u] = decodeMiniFloat(E4M3, c) * g;
    }
    return { spec: s, layout, scales, blockScaleCodes: codes, globalScale: g, clipRatios };
  }
  // mxfp4
  for (let u = 0; u < layout.units; u++) {
    const a = amax[u]!;
    const c = a === 0 ? 0 : encodeE8M0(floorLog2(a) - 2);
    codes[u] = c;
    scales[u] = decodeE8M0(c);
  }
  return { spec: s, layout, scales, blockScaleCodes: codes, globalScale: 1, clipRatios };
}

function fp8ClipSearch(
  x: Matrix,
  l: ScaleLayout,
  fmt: MiniFloatFormat,
  amax: Float64Array,
  cs: { grid: number; maxShrink: number; norm: number },
  scales: Float32Array,
  clipRatios: Float32Array,
): void {
  const ratios = clipSearchRatios(cs);
  const d = x.data;
  const stride = l.span === 0 ? l.cols : 1;
  const count = l.span === 0 ? l.rows : l.span;
  for (let u = 0; u < l.units; u++) {
    const start = l.span === 0 ? u : u * l.span;
    let best = Number.POSITIVE_INFINITY;
    for (let r = 0; r < ratios.length; r++) {
      const sc = Math.fround((ratios[r]! * amax[u]!) / fmt.max);
      let err = 0;
      for (let t = 0, f = start; t < count; t++, f += stride) {
        const v = d[f]!;
        const e = Math.abs((sc === 0 ? 0 : Math.fround(roundToMiniFloat(fmt, v / sc) * sc)) - v);
        err += cs.norm === 2 ? e * e : e ** cs.norm;
      }
      if (err < best) {
        best = err;
        scales[u] = sc;
        clipRatios[u] = ratios[r]!;
      }
    }
  }
}

// ---------------------------------------------------------------- quantize / dequantize / fake-quant

const elementFormat = (f: FpFormat): MiniFloatFormat =>
  f === 'fp8_e4m3' ? E4M3 : f === 'fp8_e5m2' ? E5M2 : E2M1;

export function quantizeFp(x: Matrix, spec: QuantSpec | ResolvedQuantSpec, name = 'x'): FpQuantized {
  const p = computeFpScales(x, spec, name);
  const fmt = elementFormat(p.spec.format as FpFormat);
  const n = x.rows * x.cols;
  const codes = new Uint8Array(n);
  const d = x.data;
  for (let f = 0; f < n; f++) {
    const s = p.scales[unitOfFlat(p.layout, f)]!;
    codes[f] = s === 0 ? 0 : encodeMiniFloat(fmt, d[f]! / s) & ((1 << fmt.bits) - 1);
  }
  return { format: p.spec.format as FpFormat, rows: x.rows, cols: x.cols, codes, ...p };
}

export function dequantizeFp(q: FpQuantized): Matrix {
  const fmt = elementFormat(q.format);
  const n = q.rows * q.cols;
  if (q.codes.length !== n)
    throw new NqInputError(
      'q.codes',
      `has ${q.codes.length} codes for a ${q.rows}×${q.cols} matrix`,
      'Pass the object quantizeFp returned (unpack packed codes first).',
    );
  // decode table: one lookup per element
  const table = new Float64Array(1 << fmt.bits);
  for (let c = 0; c < table.length; c++) table[c] = decodeMiniFloat(fmt, c);
  const out = new Float32Array(n);
  for (let f = 0; f < n; f++) out[f] = table[q.codes[f]!]! * q.scales[unitOfFlat(q.layout, f)]!;
  return { rows: q.rows, cols: q.cols, data: out };
}

/** Quantize-dequantize in one pass; equals dequantizeFp(quantizeFp(x, spec)) exactly. */
export function fakeQuantFp(x: Matrix, spec: QuantSpec | ResolvedQuantSpec, name = 'x'): Matrix {
  const p = computeFpScales(x, spec, name);
  const out = new Float32Array(x.rows * x.cols);
  fakeQuantFpWithScales(x.data, out, p.layout, p.scales, p.spec.format as FpFormat);
  return { rows: x.rows, cols: x.cols, data: out };
}

/**
 * The FP fake-quant loop with precomputed effective scales (from computeFpScales), e.g. for GPTQ,
 * which fixes a group's scales and then quantizes columns as they are updated. Writes into `out`.
 */
export function fakeQuantFpWithScales(
  d: Float32Array,
  out: Float32Array,
  l: ScaleLayout,
  scales: Float32Array,
  format: FpFormat,
): void {
  const fmt = elementFormat(format);
  if (l.span === 0) {
    for (let f = 0; f < out.length; f++) {
      const s = scales[f % l.cols]!;
      out[f] = s === 0 ? 0 : roundToMiniFloat(fmt, d[f]! / s) * s;
    }
  } else {
    for (let u = 0; u < l.units; u++) {
      const s = scales[u]!;
      const end = (u + 1) * l.span;
      if (s === 0) {
        out.fill(0, u * l.span, end);
        continue;
      }
      for (let f = u * l.span; f < end; f++) out[f] = roundToMiniFloat(fmt, d[f]! / s) * s;
    }
  }
}
