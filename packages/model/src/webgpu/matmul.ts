import {
  createStorageBuffer,
  createUniformBuffer,
  dispatch,
  type GpuMatrix,
  getPipeline,
} from '@nq/core/webgpu';
import type { GpuWork } from './hooks.js';
import { GEMV_WGSL, MATMUL_WGSL } from './shaders.js';

/** Up to this many rows (decode steps) a linear runs as GEMV_WGSL instead of the 64×64-tiled GEMM. */
export const GEMV_MAX_ROWS = 4;

/**
 * Records Y = X·Wᵀ (X [rows, K] on the GPU, W [N, K] row-major in `w`) into `work` with the forward
 * pass's own kernels, into `out` or a new [rows, N] buffer in work.temps. For hooks: an online
 * rotation x·R is recordMatmul(work, x, Rᵀ, n).
 */
export function recordMatmul(
  work: GpuWork,
  x: GpuMatrix,
  w: GPUBuffer,
  N: number,
  out?: GPUBuffer,
  accumulate = false,
): GpuMatrix {
  const { device } = work;
  const y = out ?? createStorageBuffer(device, x.rows * N * 4);
  if (!out) work.temps.push(y);
  const u = createUniformBuffer(device, Uint32Array.from([x.rows, x.cols, N, accumulate ? 1 : 0]));
  work.temps.push(u);
  const bind = [u, x.buffer, w, y];
  if (x.rows <= GEMV_MAX_ROWS)
    dispatch(device, getPipeline(device, GEMV_WGSL), bind, [Math.ceil(N / 8), x.rows], work.encoder);
  else
    dispatch(
      device,
      getPipeline(device, MATMUL_WGSL),
      bind,
      [Math.ceil(N / 64), Math.ceil(x.rows / 64)],
      work.encoder,
    );
  return { rows: x.rows, cols: N, buffer: y };
}
