import { assertFinite, assertMatrix, assertNonEmpty, type Matrix } from '@nq/core';
import {
  createStorageBuffer,
  createUniformBuffer,
  dispatch,
  type GpuMatrix,
  getPipeline,
  getWebGPUDevice,
  readBuffer,
  uploadMatrix,
} from '@nq/core/webgpu';
import type { LoadedModel } from '@nq/model';
import { type ChannelStats, ChannelStatsAccumulator, checkCalibrationArgs } from '../channel-stats.js';
import type { RescaleInput } from '../model.js';
import { CHANNEL_STATS_WGSL } from './shaders.js';

/** Tokens per partial sum on the GPU (float32); the partials are added in float64 on the host. */
const TOKEN_CHUNK = 64;

interface Recorder {
  device: GPUDevice;
  encoder: GPUCommandEncoder;
  temps: GPUBuffer[];
}

/** A recorded statistics pass: its partials buffer (owned by the caller) and its shape. */
export interface ChannelPartials {
  buffer: GPUBuffer;
  rows: number;
  cols: number;
  chunks: number;
}

/**
 * Records the per-channel partial statistics of a GPU matrix into `work.encoder` (no read-back).
 * The returned partials buffer belongs to the caller: read it with `readChannelPartials` after the
 * work is submitted, then destroy it.
 */
export function recordChannelStats(work: Recorder, x: GpuMatrix): ChannelPartials {
  const chunks = Math.max(1, Math.ceil(x.rows / TOKEN_CHUNK));
  const buffer = createStorageBuffer(work.device, chunks * x.cols * 3 * 4);
  const u = createUniformBuffer(work.device, new Uint32Array([x.rows, x.cols, TOKEN_CHUNK, 0]));
  work.temps.push(u);
  dispatch(
    work.device,
    getPipeline(work.device, CHANNEL_STATS_WGSL),
    [x.buffer, buffer, u],
    [Math.ceil(x.cols / 64), chunks],
    work.encoder,
  );
  return { buffer, rows: x.rows, cols: x.cols, chunks };
}

export { ChannelStatsAccumulator } from '../channel-stats.js';

/** Reads a recorded partials buffer into `acc` and destroys the buffer. */
export async function readChannelPartials(
  device: GPUDevice,
  p: ChannelPartials,
  acc: ChannelStatsAccumulator,
): Promise<void> {
  try {
    acc.addPartials(
      new Float32Array(await readBuffer(device, p.buffer, p.chunks * p.cols * 12)),
      p.rows,
      p.chunks,
    );
  } finally {
    p.buffer.destroy();
  }
}

/** Per-channel max|x|, mean|x|, mean x² (the Hessian diagonal XᵀX/N) of one host matrix, on WebGPU. */
export async function channelStatsWebGPU(x: Matrix): Promise<ChannelStats> {
  assertMatrix(x, 'x');
  assertNonEmpty(x, 'x');
  assertFinite(x, 'x');
  const { device } = await getWebGPUDevice();
  const gx = uploadMatrix(device, x);
  const work: Recorder = { device, encoder: device.createCommandEncoder(), temps: [] };
  try {
    const p = recordChannelStats(work, gx);
    device.queue.submit([work.encoder.finish()]);
    const acc = new ChannelStatsAccumulator(x.cols);
    await readChannelPartials(device, p, acc);
    return acc.finish();
  } finally {
    gx.buffer.destroy();
    for (const b of work.temps) b.destroy();
  }
}

const GROUP_OF: Record<RescaleInput, 'attn' | 'ffn' | 'down'> = { attn: 'attn', ffn: 'ffn', down: 'down' };

/**
 * collectInputStats on the GPU: every calibration sequence runs through @nq/model's WebGPU forward
 * pass, whose linear-input hook records the statistics kernel on the attention input (q/k/v), the
 * MLP input (gate/up) and the down_proj input inside the same command buffer — activations never
 * leave the device; only the per-chunk partials (and the first `keepRows` rows, for AWQ) are read
 * back. Same result shape as collectInputStats (its CPU counterpart and reference).
 */
export async function collectInputStatsWebGPU(
  model: LoadedModel,
  seqs: readonly Int32Array[],
  opts: { keepRows?: number } = {},
): Promise<Record<RescaleInput, ChannelStats>[]> {
  const keep = checkCalibrationArgs(seqs, opts);
  const { forwardWebGPU, uploadModel } = await import('@nq/model/webgpu');
  const gm = await uploadModel(model);
  const { device } = gm;
  const accs = model.weights.layers.map((l) => ({
    attn: new ChannelStatsAccumulator(l.q.cols, keep),
    ffn: new ChannelStatsAccumulator(l.gate.cols, keep),
    down: new ChannelStatsAccumulator(l.down.cols, keep),
  }));
  const inputs = Object.keys(GROUP_OF) as RescaleInput[];
  try {
    for (const ids of seqs) {
      const pending: {
        p: ChannelPartials;
        acc: ChannelStatsAccumulator;
        copy: GPUBuffer | null;
        take: number;
      }[] = [];
      await forwardWebGPU(gm, ids, {
        lastOnly: true,
        hooks: {
          linearInput: (layer, group, x, work) => {
            const input = inputs.find((i) => GROUP_OF[i] === group);
            if (!input) return undefined;
            const acc = accs[layer]![input];
            const p = recordChannelStats(work, x);
            let copy: GPUBuffer | null = null;
            const take = Math.min(acc.rowsWanted, x.rows);
            if (take > 0) {
              copy = createStorageBuffer(work.device, take * x.cols * 4);
              work.encoder.copyBufferToBuffer(x.buffer, 0, copy, 0, take * x.cols * 4);
            }
            pending.push({ p, acc, copy, take });
            return undefined;
          },
        },
      });
      // forwardWebGPU has read its logits back, so the recorded work has run.
      for (const { p, acc, copy, take } of pending) {
        await readChannelPartials(device, p, acc);
        if (copy) {
          try {
            acc.addRows(new Float32Array(await readBuffer(device, copy, take * acc.cols * 4)), take);
          } finally {
            copy.destroy();
          }
        }
      }
    }
  } finally {
    gm.destroy();
  }
  return accs.map((a) => ({ attn: a.attn.finish(), ffn: a.ffn.finish(), down: a.down.finish() }));
}
