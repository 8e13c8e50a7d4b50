import { assertFinite, assertMatrix, type Matrix, NqInputError } from '@nq/core';

/** Y[T×N] = A[T×K]·B[N×K]ᵀ in float32 (the GemmFn shape of @nq/model). */
export type HessianGemm = (
  a: Float32Array,
  T: number,
  K: number,
  b: Float32Array,
  N: number,
  y: Float32Array,
) => void;

/** A finalized layer Hessian H = 2·XᵀX/N (n × n, row-major, float64, symmetric). */
export interface Hessian {
  n: number;
  data: Float64Array;
  /** Number of calibration rows (tokens) it was computed from. */
  samples: number;
}

/**
 * Streams H = 2·XᵀX/N over batches of layer inputs X (tokens × in), in float64. Only the upper
 * triangle of S = Σ xᵀx is accumulated (H is symmetric); finalize() mirrors it. Two accumulators
 * over disjoint batches merge into the accumulator of their union (sums add, counts add), so
 * batches may be processed by different workers or devices and combined.
 *
 * Speed: tokens are taken four at a time, so each S[i,j] is loaded and stored once per four tokens
 * (the loop is bound by S's memory traffic, not by the multiplies). No allocation per call beyond a
 * 4 × n staging buffer made once.
 */
export class HessianAccumulator {
  readonly n: number;
  /** Σ xᵀx, upper triangle (row-major n × n; the lower triangle is unused until finalize). */
  readonly sum: Float64Array;
  samples = 0;
  private readonly stage: Float64Array;
  private readonly gemm: HessianGemm | null;
  private xt = new Float32Array(0);
  private prod = new Float32Array(0);

  /**
   * `options.gemm`: a float32 GEMM (Y = A·Bᵀ, e.g. @nq/model's SIMD kernel) to form each chunk of up
   * to 256 rows' XᵀX in float32 — sums over chunks stay float64. ~10× faster on CPU; each chunk's
   * products then carry float32 rounding (relative ~1e-6). Without it everything is float64.
   */
  constructor(n: number, options: { gemm?: HessianGemm } = {}) {
    if (!Number.isInteger(n) || n < 1)
      throw new NqInputError(
        'n',
        `must be a positive integer (the layer's input size), got ${n}`,
        'Pass the number of input columns.',
      );
    this.n = n;
    this.sum = new Float64Array(n * n);
    this.stage = new Float64Array(4 * n);
    this.gemm = options.gemm ?? null;
  }

  /** Adds the rows of X (tokens × n). Checks the shape and finiteness (a NaN would poison H). */
  add(x: Matrix, name = 'x'): this {
    checkLayerInput(x, this.n, name);
    this.addRows(x.data, x.rows);
    return this;
  }

  /** Adds `rows` rows of a row-major tokens × n array without checks (hot path of the capture hook). */
  addRows(d: ArrayLike<number>, rows: number, offset = 0): void {
    if (this.gemm) {
      this.addRowsGemm(d, rows, offset, this.gemm);
      return;
    }
    const n = this.n;
    const s = this.sum;
    const st = this.stage;
    let t = 0;
    for (; t + 3 < rows; t += 4) {
      const o = offset + t * n;
      for (let j = 0; j < 4 * n; j++) st[j] = d[o + j]!;
      for (let i = 0; i < n; i++) {
        const a0 = st[i]!;
        const a1 = st[n + i]!;
        const a2 = st[2 * n + i]!;
        const a3 = st[3 * n + i]!;
        const ri = i * n;
        for (let j = i; j < n; j++) {
          s[ri + j] += a0 * st[j]! + a1 * st[n + j]! + a2 * st[2 * n + j]! + a3 * st[3 * n + j]!;
        }
      }
    }
    for (; t < rows; t++) {
      const o = offset + t * n;
      for (let i = 0; i < n; i++) {
        const a = d[o + i]!;
        if (a === 0) continue;
        const ri = i * n;
        for (let j = i; j < n; j++) s[ri + j] += a * d[o + j]!;
      }
    }
    this.samples += rows;
  }

  private addRowsGemm(d: ArrayLike<number>, rows: number, offset: number, gemm: HessianGemm): void {
    const n = this.n;
    const CH = 256;
    if (this.xt.length < n * CH) this.xt = new Float32Array(n * CH);
    if (this.prod.length < n * n) this.prod = new Float32Array(n * n);
    const s = this.sum;
    for (let t0 = 0; t0 < rows; t0 += CH) {
      const T = Math.min(CH, rows - t0);
      const xt = this.xt.subarray(0, n * T);
      // Xᵀ of the chunk (n × T), then Xᵀ·(Xᵀ)ᵀ = XᵀX (n × n)
      for (let t = 0; t < T; t++) {
        const o = offset + (t0 + t) * n;
        for (let i = 0; i < n; i++) xt[i * T + t] = d[o + i]!;
      }
      const y = this.prod.subarray(0, n * n);
      gemm(xt, n, T, xt, n, y);
      for (let i = 0; i < n; i++) {
        const ri = i * n;
        for (let j = i; j < n; j++) s[ri + j] += y[ri + j]!;
      }
    }
    this.samples += rows;
  }

  /** Adds another accumulator's batches to this one (same n). */
  merge(other: HessianAccumulator): this {
    if (!(other instanceof HessianAccumulator) || other.n !== this.n) {
      throw new NqInputError(
        'other',
        `must be a HessianAccumulator of size ${this.n}`,
        'Merge accumulators of the same layer only.',
      );
    }
    const s = this.sum;
    const o = other.sum;
    for (let i = 0; i < s.length; i++) s[i] += o[i]!;
    this.samples += other.samples;
    return this;
  }

  /** H = 2·S/N, full symmetric matrix (a new array; the accumulator may keep growing). */
  finalize(): Hessian {
    requireSamples('HessianAccumulator', this.samples);
    return hessianFromUpperSums(this.n, this.sum, this.samples);
  }
}

/** The input checks of every Hessian accumulator's add(): a finite tokens × n matrix (a NaN would poison H). */
export function checkLayerInput(x: Matrix, n: number, name: string): void {
  assertMatrix(x, name);
  if (x.cols !== n)
    throw new NqInputError(
      name,
      `has ${x.cols} columns, the accumulator is for ${n}`,
      'Pass the inputs of the same layer (tokens × in).',
    );
  assertFinite(x, name);
}

/** The typed error every Hessian accumulator (cpu, webgpu, gpujs) raises when finalized empty. */
export function requireSamples(accumulator: string, samples: number): void {
  if (samples === 0)
    throw new NqInputError(
      accumulator,
      'has seen no rows',
      'Call add(X) with calibration inputs before finalize().',
    );
}

/** H = 2·S/N as a full symmetric matrix from the upper triangle (j ≥ i) of the row-major sums S. */
export function hessianFromUpperSums(n: number, sum: ArrayLike<number>, samples: number): Hessian {
  const h = new Float64Array(n * n);
  const f = 2 / samples;
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const v = sum[i * n + j]! * f;
      h[i * n + j] = v;
      h[j * n + i] = v;
    }
  }
  return { n, data: h, samples };
}

/** H = 2·XᵀX/N of one matrix X (convenience). */
export function hessianOf(x: Matrix, name = 'x'): Hessian {
  return new HessianAccumulator(x.cols).add(x, name).finalize();
}
