import { type Matrix, NqInputError, assertFinite, assertMatrix } from '@nq/core';

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

  constructor(n: number) {
    if (!Number.isInteger(n) || n < 1) throw new NqInputError('n', `must be a positive integer (the layer's input size), got ${n}`, 'Pass the number of input columns.');
    this.n = n;
    this.sum = new Float64Array(n * n);
    this.stage = new Float64Array(4 * n);
  }

  /** Adds the rows of X (tokens × n). Checks the shape and finiteness (a NaN would poison H). */
  add(x: Matrix, name = 'x'): this {
    assertMatrix(x, name);
    if (x.cols !== this.n) throw new NqInputError(name, `has ${x.cols} columns, the accumulator is for ${this.n}`, 'Pass the inputs of the same layer (tokens × in).');
    assertFinite(x, name);
    this.addRows(x.data, x.rows);
    return this;
  }

  /** Adds `rows` rows of a row-major tokens × n array without checks (hot path of the capture hook). */
  addRows(d: ArrayLike<number>, rows: number, offset = 0): void {
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

  /** Adds another accumulator's batches to this one (same n). */
  merge(other: HessianAccumulator): this {
    if (!(other instanceof HessianAccumulator) || other.n !== this.n) {
      throw new NqInputError('other', `must be a HessianAccumulator of size ${this.n}`, 'Merge accumulators of the same layer only.');
    }
    const s = this.sum;
    const o = other.sum;
    for (let i = 0; i < s.length; i++) s[i] += o[i]!;
    this.samples += other.samples;
    return this;
  }

  /** H = 2·S/N, full symmetric matrix (a new array; the accumulator may keep growing). */
  finalize(): Hessian {
    if (this.samples === 0) throw new NqInputError('HessianAccumulator', 'has seen no rows', 'Call add(X) with calibration inputs before finalize().');
    const n = this.n;
    const h = new Float64Array(n * n);
    const f = 2 / this.samples;
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) {
        const v = this.sum[i * n + j]! * f;
        h[i * n + j] = v;
        h[j * n + i] = v;
      }
    }
    return { n, data: h, samples: this.samples };
  }
}

/** H = 2·XᵀX/N of one matrix X (convenience). */
export function hessianOf(x: Matrix, name = 'x'): Hessian {
  return new HessianAccumulator(x.cols).add(x, name).finalize();
}
