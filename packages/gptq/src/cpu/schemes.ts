import { type Matrix, NqInputError } from '@nq/core';
import {
  computeFpScales,
  computeIntParams,
  decodeMiniFloat,
  E2M1,
  E4M3,
  E5M2,
  encodeMiniFloat,
  type FpQuantized,
  type IntQuantized,
  type MiniFloatFormat,
  type Quantized,
  type QuantSpec,
  type ResolvedQuantSpec,
  resolveSpec,
  roundHalfEven,
  roundToMiniFloat,
  scaleLayout,
} from '@nq/quant-fp';

/*
 * The number format, separated from GPTQ (as gpt-fast does): a scheme supplies the parameters of a
 * group of columns and quantizes one column with them; one GPTQ runner (gptq.ts) uses any scheme.
 *
 * Columns are the weight's input channels (W is out × in). A "group" is a run of `groupSize`
 * columns sharing parameters (one set per output row, or one for all rows, as the format says).
 * GPTQ fits a group's parameters from the current (already error-compensated) weights when it
 * reaches the group's first column — or, with static groups, from the original W up front.
 */
export interface WeightScheme {
  /** Short human label, e.g. 'int4 g128 asym'. */
  readonly label: string;
  /** JSON-serialisable description (stored with results). */
  readonly description: unknown;
  /** Starts quantizing one weight matrix; `w` is the original W (before any GPTQ update). */
  prepare(w: Matrix): SchemeRun;
}

/** One matrix being quantized by a scheme; holds its parameters as they are fitted. */
export interface SchemeRun {
  /** Columns per parameter group (= cols when one set covers a whole row or the whole matrix). */
  readonly groupSize: number;
  readonly groups: number;
  /**
   * Fits group `g`'s parameters from `block` (rows × width, row-major float64: the group's columns
   * in processing order). Called once per group.
   */
  fitGroup(g: number, block: Float64Array, width: number): void;
  /**
   * Quantizes one column (`x`, length rows) with group `g`'s parameters: writes ŵ (float32-rounded)
   * into `out` and the integer codes into `codes[r·cols + col]`.
   */
  quantizeColumn(
    g: number,
    x: Float64Array,
    out: Float64Array,
    codes: Int8Array | Uint8Array,
    col: number,
    cols: number,
  ): void;
  /** A fresh code array of the right type for rows × cols. */
  newCodes(): Int8Array | Uint8Array;
  /** Parameters as fitted: scales (and zeros) indexed by unit; see `unitOf`. */
  params(): SchemeParams;
  /**
   * The codes + parameters as @nq/quant-fp's Quantized object (so `dequantize()` reproduces ŵ),
   * valid when group g covers original columns [g·groupSize, (g+1)·groupSize); null for schemes that
   * are no QuantSpec format (Lloyd-Max).
   */
  toQuantized(codes: Int8Array | Uint8Array): Quantized | null;
}

export interface SchemeParams {
  /** Scale per unit (QuantSpec schemes) or the codebook (Lloyd-Max: rows × K or 1 × K). */
  scales: Float32Array;
  zeros: Float32Array | null;
  /** nvfp4: E4M3 code of each block scale; mxfp4: E8M0 code; else null. */
  blockScaleCodes: Uint8Array | null;
  /** nvfp4 global scale (1 otherwise). */
  globalScale: number;
  /** Layout of `scales`: scaleRows × scaleCols. */
  scaleRows: number;
  scaleCols: number;
}

// ---------------------------------------------------------------- QuantSpec schemes

const FP_ELEMENT: Record<string, MiniFloatFormat> = {
  fp8_e4m3: E4M3,
  fp8_e5m2: E5M2,
  nvfp4: E2M1,
  mxfp4: E2M1,
};

/**
 * A scheme for any QuantSpec (int, fp8_e4m3, fp8_e5m2, nvfp4, mxfp4) with the definitions of
 * @nq/quant-int4 / @nq/quant-fp: run without error feedback (RTN) it reproduces `fakeQuant(W, spec)`
 * bit for bit. Granularities map onto GPTQ groups as:
 *  - group (incl. nvfp4 16, mxfp4 32): groups of groupSize columns, one scale per row per group;
 *  - token (per output row = GPTQ's "per-channel"): one group = the whole row, one scale per row;
 *  - tensor: one group = the whole matrix, one scale;
 *  - channel (per input column): groups of 1 column, one scale per column shared by all rows.
 * nvfp4's FP32 global scale is computed once from the original W (max|W|/(6·448)); its E4M3 block
 * scales are fitted per group like any other.
 */
export function quantSpecScheme(spec: QuantSpec | ResolvedQuantSpec): WeightScheme {
  const s = resolveSpec(spec, 'scheme');
  const label = `${s.format}${s.format === 'int' ? s.bits : ''} ${s.granularity === 'group' ? `g${s.groupSize}` : s.granularity}${s.format === 'int' && !s.symmetric ? ' asym' : ''}${s.clipSearch ? ' clip-search' : ''}`;
  return { label, description: s, prepare: (w) => new QuantSpecRun(s, w) };
}

class QuantSpecRun implements SchemeRun {
  readonly groupSize: number;
  readonly groups: number;
  private readonly rows: number;
  private readonly cols: number;
  private readonly scales: Float32Array;
  private readonly zeros: Float32Array | null;
  private readonly blockCodes: Uint8Array | null;
  private readonly globalScale: number;
  /** granularity used on a group's sub-matrix (rows × width) by the @nq/quant-* param code. */
  private readonly subSpec: ResolvedQuantSpec;
  private readonly scaleCols: number;
  private readonly scaleRows: number;
  private readonly fmt: MiniFloatFormat | null;
  /** Scratch: one group's block as float32 (the @nq/quant-* parameter code takes a Matrix). */
  private sub: Float32Array;

  constructor(
    readonly spec: ResolvedQuantSpec,
    w: Matrix,
  ) {
    const { rows, cols } = w;
    this.rows = rows;
    this.cols = cols;
    const layout = scaleLayout(rows, cols, spec, 'w'); // validates that the group size divides cols
    this.scaleRows = layout.scaleRows;
    this.scaleCols = layout.scaleCols;
    this.scales = new Float32Array(layout.units);
    this.zeros = spec.format === 'int' && !spec.symmetric ? new Float32Array(layout.units) : null;
    this.blockCodes =
      spec.format === 'nvfp4' || spec.format === 'mxfp4' ? new Uint8Array(layout.units) : null;
    this.fmt = spec.format === 'int' ? null : FP_ELEMENT[spec.format]!;
    switch (spec.granularity) {
      case 'group':
        this.groupSize = spec.groupSize;
        break;
      case 'channel':
        this.groupSize = 1;
        break;
      default:
        this.groupSize = cols;
    }
    this.groups = cols / this.groupSize;
    const subGranularity = spec.granularity === 'group' ? 'token' : spec.granularity;
    // mxfp4's block is fixed at 32 = one group, so its own spec applies to a group's sub-matrix
    this.subSpec = spec.format === 'mxfp4' ? spec : { ...spec, granularity: subGranularity, groupSize: 0 };
    this.sub = new Float32Array(0);
    let g = 1;
    if (spec.format === 'nvfp4') {
      let t = 0;
      const d = w.data;
      for (let i = 0; i < d.length; i++) {
        const a = Math.abs(d[i]!);
        if (a > t) t = a;
      }
      g = Math.fround(t / (6 * 448));
    }
    this.globalScale = g;
  }

  /** Unit (scale index) of row r in group g. */
  private unit(r: number, g: number): number {
    switch (this.spec.granularity) {
      case 'group':
        return r * this.scaleCols + g;
      case 'token':
        return r;
      case 'tensor':
        return 0;
      case 'channel':
        return g;
    }
  }

  fitGroup(g: number, block: Float64Array, width: number): void {
    const rows = this.rows;
    const n = rows * width;
    if (this.sub.length < n) this.sub = new Float32Array(n);
    const sub = this.sub.subarray(0, n);
    for (let i = 0; i < n; i++) sub[i] = block[i]!;
    const m: Matrix = { rows, cols: width, data: sub };
    const s = this.spec;
    if (s.format === 'int') {
      const p = computeIntParams(m, this.subSpec, 'w');
      this.copyUnits(g, p.scales, p.zeros);
      return;
    }
    if (s.format === 'nvfp4') {
      // block scale b = e4m3(max|block|/6/G) with the tensor's global scale G (from the original W)
      const G = this.globalScale;
      for (let r = 0; r < rows; r++) {
        let a = 0;
        for (let j = 0; j < width; j++) {
          const v = Math.abs(sub[r * width + j]!);
          if (v > a) a = v;
        }
        const u = this.unit(r, g);
        if (G === 0) {
          this.scales[u] = 0;
          this.blockCodes![u] = 0;
          continue;
        }
        const c = encodeMiniFloat(E4M3, a / 6 / G);
        this.blockCodes![u] = c;
        this.scales[u] = decodeMiniFloat(E4M3, c) * G;
      }
      return;
    }
    const p = computeFpScales(m, this.subSpec, 'w');
    this.copyUnits(g, p.scales, null);
    if (this.blockCodes && p.blockScaleCodes)
      for (let r = 0; r < rows; r++) this.blockCodes[this.unit(r, g)] = p.blockScaleCodes[r]!;
  }

  private copyUnits(g: number, scales: Float32Array, zeros: Float32Array | null): void {
    const gran = this.spec.granularity;
    if (gran === 'tensor' || gran === 'channel') {
      this.scales[this.unit(0, g)] = scales[0]!;
      if (this.zeros && zeros) this.zeros[this.unit(0, g)] = zeros[0]!;
      return;
    }
    for (let r = 0; r < this.rows; r++) {
      const u = this.unit(r, g);
      this.scales[u] = scales[r]!;
      if (this.zeros && zeros) this.zeros[u] = zeros[r]!;
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
    const rows = this.rows;
    const s = this.spec;
    if (s.format === 'int') {
      const sym = s.symmetric;
      const lo = sym ? -(1 << (s.bits - 1)) : 0;
      const hi = sym ? (1 << (s.bits - 1)) - 1 : (1 << s.bits) - 1;
      for (let r = 0; r < rows; r++) {
        const u = this.unit(r, g);
        const sc = this.scales[u]!;
        const z = sym ? 0 : this.zeros![u]!;
        // the value is rounded to float32 first: the quantizer of a float32 weight sees float32
        let q = (sc === 0 ? 0 : roundHalfEven(Math.fround(x[r]!) / sc)) + z;
        q = q < lo ? lo : q > hi ? hi : q;
        codes[r * cols + col] = q;
        out[r] = Math.fround((q - z) * sc);
      }
      return;
    }
    const fmt = this.fmt!;
    const mask = (1 << fmt.bits) - 1;
    for (let r = 0; r < rows; r++) {
      const sc = this.scales[this.unit(r, g)]!;
      if (sc === 0) {
        codes[r * cols + col] = 0;
        out[r] = 0;
        continue;
      }
      const v = Math.fround(x[r]!) / sc;
      codes[r * cols + col] = encodeMiniFloat(fmt, v) & mask;
      out[r] = Math.fround(roundToMiniFloat(fmt, v) * sc);
    }
  }

  newCodes(): Int8Array | Uint8Array {
    const n = this.rows * this.cols;
    return this.spec.format === 'int' && this.spec.symmetric ? new Int8Array(n) : new Uint8Array(n);
  }

  params(): SchemeParams {
    return {
      scales: this.scales,
      zeros: this.zeros,
      blockScaleCodes: this.blockCodes,
      globalScale: this.globalScale,
      scaleRows: this.scaleRows,
      scaleCols: this.scaleCols,
    };
  }

  toQuantized(codes: Int8Array | Uint8Array): Quantized {
    const layout = scaleLayout(this.rows, this.cols, this.spec, 'w');
    const base = {
      spec: this.spec,
      rows: this.rows,
      cols: this.cols,
      layout,
      scales: this.scales,
      clipRatios: new Float32Array(layout.units).fill(Number.NaN),
    };
    if (this.spec.format === 'int') {
      const q: IntQuantized = { ...base, format: 'int', codes, zeros: this.zeros };
      return q;
    }
    const q: FpQuantized = {
      ...base,
      format: this.spec.format,
      codes: codes as Uint8Array,
      blockScaleCodes: this.blockCodes,
      globalScale: this.globalScale,
    };
    return q;
  }
}

// ---------------------------------------------------------------- Lloyd-Max codebook

export interface LloydMaxOptions {
  /** Number of centroids K (2..256), e.g. 16 for a 4-bit codebook. */
  levels: number;
  /** One codebook per output row (default) or one for the whole matrix. */
  perRow?: boolean;
  /** Lloyd iterations (default 40; stops early when no centroid moves). */
  iterations?: number;
}

/**
 * A non-uniform scalar codebook fitted to the weight distribution by Lloyd's algorithm (Lloyd-Max
 * quantizer for the MSE): start from the K quantiles ((k+½)/K) of the values, then alternate
 * "assign each value to its nearest centroid" (boundaries at midpoints) and "move each centroid to
 * the mean of its values" until nothing moves. An empty cell keeps its centroid. Fitted once per
 * matrix from the original W (the codebook is static), per row or per tensor; GPTQ then rounds each
 * (updated) weight to its nearest centroid. On a rotated model this fits the rotated weights'
 * distribution, as intended. Codes are centroid indices (Uint8Array, packable when K ≤ 16).
 */
export function lloydMaxScheme(opts: LloydMaxOptions): WeightScheme {
  const K = opts.levels;
  if (!Number.isInteger(K) || K < 2 || K > 256)
    throw new NqInputError(
      'levels',
      `must be an integer in 2..256, got ${K}`,
      'Use 16 for a 4-bit codebook, 8 for 3 bits.',
    );
  const iterations = opts.iterations ?? 40;
  if (!Number.isInteger(iterations) || iterations < 0)
    throw new NqInputError('iterations', `must be a non-negative integer, got ${iterations}`, 'Use e.g. 40.');
  const perRow = opts.perRow ?? true;
  const description = { kind: 'lloyd-max', levels: K, perRow, iterations };
  return {
    label: `lloyd-max K=${K} ${perRow ? 'per-row' : 'per-tensor'}`,
    description,
    prepare: (w) => new LloydRun(w, K, perRow, iterations),
  };
}

/** Fits K centroids to `values` (sorted ascending in place) by Lloyd iterations; writes them to out[off..off+K). */
export function fitLloydMax(
  values: Float64Array,
  K: number,
  iterations: number,
  out: Float32Array,
  off: number,
): void {
  values.sort();
  const n = values.length;
  const c = new Float64Array(K);
  for (let k = 0; k < K; k++) c[k] = values[Math.min(n - 1, Math.floor(((k + 0.5) / K) * n))]!;
  const sum = new Float64Array(K);
  const cnt = new Float64Array(K);
  for (let it = 0; it < iterations; it++) {
    sum.fill(0);
    cnt.fill(0);
    // values are sorted, centroids ascending: walk both
    let k = 0;
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      while (k < K - 1 && v > (c[k]! + c[k + 1]!) / 2) k++;
      sum[k] += v;
      cnt[k]++;
    }
    let moved = false;
    for (let j = 0; j < K; j++) {
      if (cnt[j]! > 0) {
        const m = sum[j]! / cnt[j]!;
        if (m !== c[j]) moved = true;
        c[j] = m;
      }
    }
    // keep centroids ascending (means of ordered cells are ordered; duplicates from quantile ties stay put)
    c.sort();
    if (!moved) break;
  }
  for (let k = 0; k < K; k++) out[off + k] = c[k]!;
}

class LloydRun implements SchemeRun {
  readonly groupSize: number;
  readonly groups = 1;
  private readonly rows: number;
  private readonly cols: number;
  private readonly book: Float32Array;

  constructor(
    w: Matrix,
    private readonly K: number,
    private readonly perRow: boolean,
    private readonly iterations: number,
  ) {
    this.rows = w.rows;
    this.cols = w.cols;
    this.groupSize = w.cols;
    this.book = new Float32Array((perRow ? w.rows : 1) * K);
  }

  fitGroup(_g: number, block: Float64Array, width: number): void {
    const rows = this.rows;
    if (this.perRow) {
      const v = new Float64Array(width);
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < width; j++) v[j] = Math.fround(block[r * width + j]!);
        fitLloydMax(v, this.K, this.iterations, this.book, r * this.K);
      }
    } else {
      const v = new Float64Array(rows * width);
      for (let i = 0; i < v.length; i++) v[i] = Math.fround(block[i]!);
      fitLloydMax(v, this.K, this.iterations, this.book, 0);
    }
  }

  quantizeColumn(
    _g: number,
    x: Float64Array,
    out: Float64Array,
    codes: Int8Array | Uint8Array,
    col: number,
    cols: number,
  ): void {
    const K = this.K;
    const b = this.book;
    for (let r = 0; r < this.rows; r++) {
      const o = this.perRow ? r * K : 0;
      const v = x[r]!;
      // nearest centroid by binary search on the ascending codebook
      let lo = 0;
      let hi = K - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (b[o + mid]! <= v) lo = mid;
        else hi = mid;
      }
      const k = Math.abs(v - b[o + lo]!) <= Math.abs(b[o + hi]! - v) ? lo : hi;
      codes[r * cols + col] = k;
      out[r] = b[o + k]!;
    }
  }

  newCodes(): Uint8Array {
    return new Uint8Array(this.rows * this.cols);
  }

  params(): SchemeParams {
    return {
      scales: this.book,
      zeros: null,
      blockScaleCodes: null,
      globalScale: 1,
      scaleRows: this.perRow ? this.rows : 1,
      scaleCols: this.K,
    };
  }

  toQuantized(): null {
    return null;
  }
}

/** A scheme from a QuantSpec, an existing scheme, or { lloydMax: options }. */
export function toScheme(
  s: QuantSpec | ResolvedQuantSpec | WeightScheme | { lloydMax: LloydMaxOptions },
  name = 'scheme',
): WeightScheme {
  if (s && typeof s === 'object' && 'prepare' in s && typeof s.prepare === 'function') return s;
  if (s && typeof s === 'object' && 'lloydMax' in s) return lloydMaxScheme(s.lloydMax);
  return quantSpecScheme(resolveSpec(s as QuantSpec, name));
}
