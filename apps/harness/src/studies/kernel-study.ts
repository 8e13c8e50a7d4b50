import type { Matrix } from '@nq/core';
import type { KernelCell } from '../sweep/cell.js';
import { syntheticActivations, syntheticWeights } from '../synthetic/profiles.js';
import { type ActivationStats, activationStats } from '../synthetic/stats.js';
import type { QuantDescriptor, RotationDescriptor } from '../techniques/catalog.js';
import { canonicalJson } from '../util/canonical.js';
import { matmulABtF64, relativeMse, sqnrDb } from './gemm.js';

/** What a kernel cell needs from the technique packages (see techniques/ops.ts). */
export interface KernelOps {
  /** 'cpu', or the GPU backend with its adapter. */
  backend: string;
  adapter?: string;
  /** X·R for every row of x (a new matrix). The same (spec, seed) must give the same R for X and W. */
  rotate(x: Matrix, spec: RotationDescriptor, seed: number): Matrix;
  /** Fake-quantization: quantize then dequantize (a new matrix). */
  quantize(x: Matrix, spec: QuantDescriptor): Matrix;
  /** Package versions/names that implement the ops, for provenance. */
  implementations: Record<string, string>;
}

/**
 * The same ops on a backend whose calls may be asynchronous (WebGPU, gpu.js). The CPU ops are also
 * AsyncKernelOps; `measurePairAsync` with them gives exactly `measurePair`'s numbers.
 */
export interface AsyncKernelOps {
  backend: string;
  adapter?: string;
  rotate(x: Matrix, spec: RotationDescriptor, seed: number): Matrix | Promise<Matrix>;
  quantize(x: Matrix, spec: QuantDescriptor): Matrix | Promise<Matrix>;
  implementations: Record<string, string>;
}

export interface CellOutcome {
  metrics: Record<string, number>;
  extra?: Record<string, unknown>;
  timings: Record<string, number>;
  seeds: Record<string, number>;
  files: string[];
  backend: string;
  adapter?: string;
}

/**
 * One kernel-level cell. With X (tokens × channels) and W (out × channels) from the synthetic
 * profile, R the rotation, Q_a / Q_w the quantizers (identity when 'none'):
 *   act_rel_mse  = ‖Q_a(XR) − XR‖² / ‖XR‖²             (R orthogonal ⇒ equals the error in X's basis)
 *   w_rel_mse    = ‖Q_w(WR) − WR‖² / ‖WR‖²
 *   gemm_rel_mse = ‖Q_a(XR)·Q_w(WR)ᵀ − X·Wᵀ‖² / ‖X·Wᵀ‖²  (the W4A4 GEMM error when both are 4-bit)
 * each also as SQNR in dB, plus the activation statistics of X and of XR (does R flatten outliers?).
 * Products are accumulated in float64.
 */
export function runKernelCell(
  cell: KernelCell,
  ops: KernelOps,
  memo: KernelMemo = new KernelMemo(),
): CellOutcome {
  const t0 = performance.now();
  const key = `data:${canonicalJson(cell.data)}:${cell.seed}`;
  const base = memo.get(key, () =>
    pairInputs(syntheticActivations(cell.data, cell.seed), syntheticWeights(cell.data, cell.seed)),
  );
  const t1 = performance.now();
  const out = measurePair(base, key, cell, ops, memo);
  out.timings.data_ms = t1 - t0;
  out.timings.total_ms = performance.now() - t0;
  return { ...out, seeds: { data: cell.seed, rotation: cell.seed }, files: [] };
}

/** runKernelCell with the rotation and quantizers on a (possibly asynchronous) backend. */
export async function runKernelCellAsync(
  cell: KernelCell,
  ops: AsyncKernelOps,
  memo: KernelMemo = new KernelMemo(),
): Promise<CellOutcome> {
  const t0 = performance.now();
  const key = `data:${canonicalJson(cell.data)}:${cell.seed}`;
  const base = memo.get(key, () =>
    pairInputs(syntheticActivations(cell.data, cell.seed), syntheticWeights(cell.data, cell.seed)),
  );
  const t1 = performance.now();
  const out = await measurePairAsync(base, key, cell, ops, memo);
  out.timings.data_ms = t1 - t0;
  out.timings.total_ms = performance.now() - t0;
  return { ...out, seeds: { data: cell.seed, rotation: cell.seed }, files: [] };
}

/** X, W, the exact product X·Wᵀ and X's statistics: what every cell on this pair shares. */
export interface PairInputs {
  x: Matrix;
  w: Matrix;
  y: Float64Array;
  stats: ActivationStats;
}

export function pairInputs(x: Matrix, w: Matrix): PairInputs {
  return { x, w, y: matmulABtF64(x, w), stats: activationStats(x) };
}

/** The technique axes of a cell (kernel or layer level). */
export interface PairAxes {
  rotation: KernelCell['rotation'];
  act: KernelCell['act'];
  weight: KernelCell['weight'];
  seed: number;
}

/**
 * The metrics of one (rotation, act quantizer, weight quantizer, seed) on a pair (X, W): see
 * runKernelCell. `pairKey` identifies the pair in the memo (X·R and W·R are shared across quantizers).
 */
export function measurePair(
  base: PairInputs,
  pairKey: string,
  axes: PairAxes,
  ops: KernelOps,
  memo: KernelMemo,
): Omit<CellOutcome, 'seeds' | 'files'> {
  const t1 = performance.now();
  const { x, w } = base;
  const rotated = memo.get(`rot:${pairKey}:${axes.seed}:${canonicalJson(axes.rotation)}`, () => {
    if (axes.rotation.spec.kind === 'none') return { xr: x, wr: w, stats: base.stats };
    const xr = ops.rotate(x, axes.rotation.spec, axes.seed);
    return { xr, wr: ops.rotate(w, axes.rotation.spec, axes.seed), stats: activationStats(xr) };
  });
  const t2 = performance.now();
  const xq = axes.act.spec ? ops.quantize(rotated.xr, axes.act.spec) : rotated.xr;
  const wq = axes.weight.spec ? ops.quantize(rotated.wr, axes.weight.spec.quant) : rotated.wr;
  return pairMetrics(base, rotated, xq, wq, axes, ops, [t1, t2, performance.now()]);
}

/**
 * `measurePair` for ops that may be asynchronous (the GPU backends): the rotation and the quantizers
 * run on the backend, the metrics (float64 sums on the CPU) are the same code.
 */
export async function measurePairAsync(
  base: PairInputs,
  pairKey: string,
  axes: PairAxes,
  ops: AsyncKernelOps,
  memo: KernelMemo,
): Promise<Omit<CellOutcome, 'seeds' | 'files'>> {
  const t1 = performance.now();
  const { x, w } = base;
  const rotated: Rotated = await memo.get(
    `rot-${ops.backend}:${pairKey}:${axes.seed}:${canonicalJson(axes.rotation)}`,
    async () => {
      if (axes.rotation.spec.kind === 'none') return { xr: x, wr: w, stats: base.stats };
      const xr = await ops.rotate(x, axes.rotation.spec, axes.seed);
      return { xr, wr: await ops.rotate(w, axes.rotation.spec, axes.seed), stats: activationStats(xr) };
    },
  );
  const t2 = performance.now();
  const xq = axes.act.spec ? await ops.quantize(rotated.xr, axes.act.spec) : rotated.xr;
  const wq = axes.weight.spec ? await ops.quantize(rotated.wr, axes.weight.spec.quant) : rotated.wr;
  return pairMetrics(base, rotated, xq, wq, axes, ops, [t1, t2, performance.now()]);
}

interface Rotated {
  xr: Matrix;
  wr: Matrix;
  stats: ActivationStats;
}

/** The metrics of measurePair from the rotated and quantized operands (times: start, rotated, quantized). */
function pairMetrics(
  base: PairInputs,
  rotated: Rotated,
  xq: Matrix,
  wq: Matrix,
  axes: PairAxes,
  ops: { backend: string; adapter?: string },
  [t1, t2, t3]: [number, number, number],
): Omit<CellOutcome, 'seeds' | 'files'> {
  const { x, y } = base;
  const { xr, wr } = rotated;
  const yq = matmulABtF64(xq, wq);
  const t4 = performance.now();

  const metrics: Record<string, number> = {};
  if (axes.act.spec) {
    metrics.act_rel_mse = relativeMse(xr.data, xq.data);
    metrics.act_sqnr_db = sqnrDb(metrics.act_rel_mse);
  }
  if (axes.weight.spec) {
    metrics.w_rel_mse = relativeMse(wr.data, wq.data);
    metrics.w_sqnr_db = sqnrDb(metrics.w_rel_mse);
  }
  metrics.channels = x.cols;
  metrics.w_rows = wr.rows;
  metrics.gemm_rel_mse = relativeMse(y, yq);
  metrics.gemm_sqnr_db = sqnrDb(metrics.gemm_rel_mse);
  const sx = base.stats;
  const sxr = rotated.stats;
  metrics.x_kurtosis = sx.kurtosis;
  metrics.xr_kurtosis = sxr.kurtosis;
  metrics.x_absmax_over_median = sx.absmax / sx.median_abs;
  metrics.xr_absmax_over_median = sxr.absmax / sxr.median_abs;
  metrics.x_top_channel_ratio = sx.top_channel_ratio;
  metrics.xr_top_channel_ratio = sxr.top_channel_ratio;
  return {
    metrics,
    timings: {
      data_ms: 0,
      rotate_ms: t2 - t1,
      quantize_ms: t3 - t2,
      gemm_ms: t4 - t3,
      total_ms: performance.now() - t1,
    },
    backend: ops.backend,
    ...(ops.adapter ? { adapter: ops.adapter } : {}),
  };
}

/**
 * Inputs shared by consecutive cells — X, W and X·Wᵀ per (data, seed); X·R and W·R per rotation —
 * kept for the next cells of a sweep (the grid is ordered seed → data → rotation → quantizers, so a
 * handful of entries suffice). Every entry is a pure function of its key, so memoising changes no
 * number; `nq reproduce` recomputes with an empty memo, which checks exactly that.
 */
export class KernelMemo {
  private readonly entries = new Map<string, unknown>();
  constructor(private readonly capacity = 6) {}

  private readonly pinned = new Map<string, unknown>();

  /** Never evicted: loaded models and captured activations (a sweep has only a few sources). */
  async pinnedAsync<T>(key: string, make: () => Promise<T>): Promise<T> {
    if (!this.pinned.has(key)) this.pinned.set(key, await make());
    return this.pinned.get(key) as T;
  }

  get<T>(key: string, make: () => T): T {
    if (this.entries.has(key)) {
      const v = this.entries.get(key) as T;
      this.entries.delete(key); // most recently used last
      this.entries.set(key, v);
      return v;
    }
    const v = make();
    this.entries.set(key, v);
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    return v;
  }
}
