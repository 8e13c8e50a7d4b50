import { assertFinite, type Matrix, NqInputError } from '@nq/core';
import {
  createUniformBuffer,
  destroyGpuMatrix,
  dispatch,
  emptyGpuMatrix,
  type GpuMatrix,
  getPipeline,
  getWebGPUDevice,
  uploadMatrix,
  workgroupGrid,
} from '@nq/core/webgpu';
import type { QuantSpec } from '@nq/quant-fp';
import { type AwqSearchResult, awqGrid, checkAwqOperands } from '../awq.js';
import { awqScales } from '../rules.js';
import { SCALE_COLUMNS_WGSL } from './shaders.js';

interface Recorder {
  device: GPUDevice;
  encoder: GPUCommandEncoder;
  temps: GPUBuffer[];
}

/**
 * Records y = X·diag(s) (or X·diag(1/s) with `divide`) into `work`; `s` is a GPU vector of x.cols
 * scales. Returns y (owned by the caller).
 */
export function recordScaleColumns(work: Recorder, x: GpuMatrix, s: GPUBuffer, divide: boolean): GpuMatrix {
  const n = x.rows * x.cols;
  const y = emptyGpuMatrix(work.device, x.rows, x.cols);
  const u = createUniformBuffer(work.device, new Uint32Array([n, x.cols, divide ? 1 : 0, 0]));
  work.temps.push(u);
  dispatch(
    work.device,
    getPipeline(work.device, SCALE_COLUMNS_WGSL),
    [x.buffer, s, y.buffer, u],
    workgroupGrid(work.device, Math.ceil(n / 256)),
    work.encoder,
  );
  return y;
}

export interface AwqSearchWebGPUOptions {
  /** Exponents to try (default 0, 0.05, …, 1); α = 0 is added when missing. */
  grid?: readonly number[];
  /** The weight quantizer Q_w, as a QuantSpec (any format @nq/quant-fp/webgpu runs). */
  weight: QuantSpec;
  /** The activation quantizer Q_a, or none (weight-only). */
  activation?: QuantSpec | null;
}

/**
 * AWQ's grid search on WebGPU — the same objective and result as awqSearch (the CPU reference):
 * for each α, s = awqScales(mean|X|, α) and loss(α) = Σ_W ‖X·Wᵀ − Q_a(X·diag(1/s))·Q_w(W·diag(s))ᵀ‖²_F.
 * X and every W are uploaded once; per (α, W) the column scalings and fake quantizers are recorded
 * and @nq/quant-int4's fused GEMM-error kernel computes X·Wᵀ and the quantized product tile by tile
 * without writing either (the GEMM-bound part). The weights of one α are in flight together; one
 * read-back of partial sums per (α, W), summed in float64.
 * Quantizers are QuantSpecs here (the CPU version takes functions) because they must run on the GPU.
 */
export async function awqSearchWebGPU(
  x: Matrix,
  ws: readonly Matrix[],
  actMeanAbs: ArrayLike<number>,
  opts: AwqSearchWebGPUOptions,
): Promise<AwqSearchResult> {
  checkAwqOperands(x, ws);
  assertFinite(x, 'x');
  ws.forEach((w, i) => {
    assertFinite(w, `ws[${i}]`);
  });
  if (!opts?.weight || typeof opts.weight !== 'object')
    throw new NqInputError(
      'opts.weight',
      'must be a QuantSpec',
      "Pass e.g. { format: 'int', bits: 4, granularity: 'group', groupSize: 128, symmetric: false }.",
    );
  if (actMeanAbs.length !== x.cols)
    throw new NqInputError(
      'actMeanAbs',
      `has ${actMeanAbs.length} entries, x has ${x.cols} channels`,
      'Pass mean|X_j| per channel.',
    );
  const { beginWork, gemmErrorGpu, gpuQuantizerFor } = await import('@nq/quant-fp/webgpu');
  const qw = gpuQuantizerFor(opts.weight);
  const qa = opts.activation ? gpuQuantizerFor(opts.activation) : null;
  const grid = awqGrid(opts.grid);
  const { device } = await getWebGPUDevice();
  const gx = uploadMatrix(device, x);
  const gws = ws.map((w) => uploadMatrix(device, w));
  const losses: { alpha: number; loss: number }[] = [];
  let best: { alpha: number; loss: number; scales: Float32Array } = {
    alpha: 0,
    loss: Infinity,
    scales: new Float32Array(0),
  };
  try {
    for (const alpha of grid) {
      const s = awqScales(actMeanAbs, alpha);
      const gs = uploadMatrix(device, { rows: 1, cols: s.length, data: s });
      const owned: GPUBuffer[] = [gs.buffer];
      try {
        const reports = await Promise.all(
          gws.map((gw) => {
            const work = beginWork(device);
            // The "quantizers" gemmErrorGpu applies to X and W: rescale, then fake-quant.
            const actQ = (wk: typeof work, m: GpuMatrix): GpuMatrix => {
              const xs = recordScaleColumns(wk, m, gs.buffer, true);
              if (!qa) return xs;
              wk.temps.push(xs.buffer);
              return qa(wk, xs);
            };
            const wQ = (wk: typeof work, m: GpuMatrix): GpuMatrix => {
              const wsc = recordScaleColumns(wk, m, gs.buffer, false);
              wk.temps.push(wsc.buffer);
              return qw(wk, wsc);
            };
            return gemmErrorGpu(work, gx, gw, null, actQ, wQ, owned);
          }),
        );
        const loss = reports.reduce((a, r) => a + r.gemm.sse, 0);
        losses.push({ alpha, loss });
        if (loss < best.loss) best = { alpha, loss, scales: s };
      } finally {
        for (const b of owned) b.destroy();
      }
    }
  } finally {
    destroyGpuMatrix(gx);
    for (const g of gws) destroyGpuMatrix(g);
  }
  return { alpha: best.alpha, scales: best.scales, losses };
}
