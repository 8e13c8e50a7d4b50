import type { Matrix } from '@nq/core';
import type { KernelCell } from '../sweep/cell.js';
import { syntheticActivations, syntheticWeights } from '../synthetic/profiles.js';
import { activationStats } from '../synthetic/stats.js';
import type { QuantDescriptor, RotationDescriptor } from '../techniques/catalog.js';
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
export function runKernelCell(cell: KernelCell, ops: KernelOps): CellOutcome {
  const t0 = performance.now();
  const x = syntheticActivations(cell.data, cell.seed);
  const w = syntheticWeights(cell.data, cell.seed);
  const t1 = performance.now();
  const rotSeed = cell.seed;
  const xr = ops.rotate(x, cell.rotation.spec, rotSeed);
  const wr = ops.rotate(w, cell.rotation.spec, rotSeed);
  const t2 = performance.now();
  const xq = cell.act.spec ? ops.quantize(xr, cell.act.spec) : xr;
  const wq = cell.weight.spec ? ops.quantize(wr, cell.weight.spec.quant) : wr;
  const t3 = performance.now();
  const y = matmulABtF64(x, w);
  const yq = matmulABtF64(xq, wq);
  const t4 = performance.now();

  const metrics: Record<string, number> = {};
  if (cell.act.spec) {
    metrics.act_rel_mse = relativeMse(xr.data, xq.data);
    metrics.act_sqnr_db = sqnrDb(metrics.act_rel_mse);
  }
  if (cell.weight.spec) {
    metrics.w_rel_mse = relativeMse(wr.data, wq.data);
    metrics.w_sqnr_db = sqnrDb(metrics.w_rel_mse);
  }
  metrics.gemm_rel_mse = relativeMse(y, yq);
  metrics.gemm_sqnr_db = sqnrDb(metrics.gemm_rel_mse);
  const sx = activationStats(x);
  const sxr = cell.rotation.spec.kind === 'none' ? sx : activationStats(xr);
  metrics.x_kurtosis = sx.kurtosis;
  metrics.xr_kurtosis = sxr.kurtosis;
  metrics.x_absmax_over_median = sx.absmax / sx.median_abs;
  metrics.xr_absmax_over_median = sxr.absmax / sxr.median_abs;
  metrics.x_top_channel_ratio = sx.top_channel_ratio;
  metrics.xr_top_channel_ratio = sxr.top_channel_ratio;
  return {
    metrics,
    timings: {
      data_ms: t1 - t0,
      rotate_ms: t2 - t1,
      quantize_ms: t3 - t2,
      gemm_ms: t4 - t3,
      total_ms: performance.now() - t0,
    },
    seeds: { data: cell.seed, rotation: rotSeed },
    files: [],
    backend: ops.backend,
    ...(ops.adapter ? { adapter: ops.adapter } : {}),
  };
}
