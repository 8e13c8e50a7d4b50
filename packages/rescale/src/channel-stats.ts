import { type Matrix, NqInputError } from '@nq/core';

/** Per-channel statistics of one input over the calibration tokens. */
export interface ChannelStats {
  maxAbs: Float32Array;
  meanAbs: Float64Array;
  /** mean x_j² = diagonal of XᵀX/N. */
  meanSq: Float64Array;
  count: number;
  /** The first `keepRows` calibration rows of the input (for AWQ's search), tokens × channels. */
  rows: Matrix | null;
}

/**
 * Accumulator of channel statistics over many token batches, for both backends: max|x_j| (float32,
 * exact), Σ|x_j| and Σx_j² in float64, and the first `keepRows` rows (AWQ's calibration rows). The CPU
 * adds whole activation matrices (`add`); the GPU adds read-back float32 partials per chunk of tokens
 * (`addPartials`) and the rows it keeps (`addRows`).
 */
export class ChannelStatsAccumulator {
  readonly maxAbs: Float32Array;
  readonly sumAbs: Float64Array;
  readonly sumSq: Float64Array;
  count = 0;
  private kept = 0;
  private readonly keptRows: Float32Array;

  constructor(
    readonly cols: number,
    readonly keepRows = 0,
  ) {
    this.maxAbs = new Float32Array(cols);
    this.sumAbs = new Float64Array(cols);
    this.sumSq = new Float64Array(cols);
    this.keptRows = new Float32Array(keepRows * cols);
  }

  /** Adds every row of an activation matrix (tokens × cols). */
  add(x: Matrix): void {
    const n = this.cols;
    for (let t = 0; t < x.rows; t++) {
      const o = t * n;
      for (let j = 0; j < n; j++) {
        const v = x.data[o + j]!;
        const a = Math.abs(v);
        if (a > this.maxAbs[j]!) this.maxAbs[j] = a;
        this.sumAbs[j] += a;
        this.sumSq[j] += v * v;
      }
    }
    this.addRows(x.data, x.rows);
    this.count += x.rows;
  }

  /** Adds read-back partials (max|x|, Σ|x|, Σx² per chunk and channel) of `rows` tokens. */
  addPartials(p: Float32Array, rows: number, chunks: number): void {
    const n = this.cols;
    for (let c = 0; c < chunks; c++)
      for (let j = 0; j < n; j++) {
        const o = (c * n + j) * 3;
        if (p[o]! > this.maxAbs[j]!) this.maxAbs[j] = p[o]!;
        this.sumAbs[j] += p[o + 1]!;
        this.sumSq[j] += p[o + 2]!;
      }
    this.count += rows;
  }

  /** Keeps the first keepRows rows seen, from a [rows, cols] block. */
  addRows(data: Float32Array, rows: number): void {
    const take = Math.min(rows, this.keepRows - this.kept);
    if (take <= 0) return;
    this.keptRows.set(data.subarray(0, take * this.cols), this.kept * this.cols);
    this.kept += take;
  }

  /** Rows still wanted for `keepRows`. */
  get rowsWanted(): number {
    return this.keepRows - this.kept;
  }

  finish(): ChannelStats {
    const c = Math.max(this.count, 1);
    return {
      maxAbs: this.maxAbs,
      meanAbs: this.sumAbs.map((v) => v / c),
      meanSq: this.sumSq.map((v) => v / c),
      count: this.count,
      rows:
        this.kept > 0
          ? { rows: this.kept, cols: this.cols, data: this.keptRows.slice(0, this.kept * this.cols) }
          : null,
    };
  }
}

/** The calibration arguments collectInputStats takes on every backend; returns keepRows. */
export function checkCalibrationArgs(seqs: readonly Int32Array[], opts: { keepRows?: number }): number {
  if (!Array.isArray(seqs) || seqs.length === 0)
    throw new NqInputError(
      'seqs',
      'must be a non-empty array of token sequences',
      'Pass calibration sequences, e.g. from @nq/gptq sampleCalibration().',
    );
  const keep = opts.keepRows ?? 0;
  if (!Number.isInteger(keep) || keep < 0)
    throw new NqInputError(
      'opts.keepRows',
      `must be a non-negative integer, got ${keep}`,
      'Use e.g. 2048 for AWQ.',
    );
  return keep;
}
