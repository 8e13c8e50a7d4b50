import { type Matrix, NqInputError, NqUnsupportedError } from '@nq/core';
import {
  createStorageBuffer,
  createUniformBuffer,
  dispatch,
  getPipeline,
  getWebGPUDevice,
  readBuffer,
  workgroupGrid,
} from '@nq/core/webgpu';
import { RopeTable } from '../cpu/ops.js';
import type { LinearName, LoadedModel } from '../types.js';
import {
  ATTENTION_WGSL,
  EMBED_WGSL,
  MATMUL_WGSL,
  MAX_ATTENTION_TOKENS,
  RMSNORM_WGSL,
  ROPE_WGSL,
  SWIGLU_WGSL,
} from './shaders.js';

/**
 * WebGPU forward pass: the model's weights uploaded once and kept on the GPU (`uploadModel`), then
 * `forwardWebGPU(gpuModel, tokens)` encodes the whole prefill — embedding, per layer RMSNorm, tiled
 * GEMMs (residual adds fused into o/down), RoPE, fused per-head attention, SwiGLU — into one command
 * buffer and reads back only the logits.
 *
 * Not on this backend (yet): hooks, KV cache / decode, online rotations (model.online).
 */
type LayerBuffers = Record<LinearName, GPUBuffer> & { attnNorm: GPUBuffer; ffnNorm: GPUBuffer };

export interface GpuModel {
  readonly model: LoadedModel;
  readonly device: GPUDevice;
  readonly adapterName: string;
  /** Frees every GPU buffer of the model. */
  destroy(): void;
  /** @internal */
  readonly buffers: {
    embed: GPUBuffer;
    layers: LayerBuffers[];
    finalNorm: GPUBuffer;
    output: GPUBuffer;
    rope: GPUBuffer;
    ropePositions: number;
  };
}

/** Uploads `model` to the process's WebGPU device (weights resident until `destroy()`). */
export async function uploadModel(model: LoadedModel): Promise<GpuModel> {
  if (model.online?.downInput) {
    throw new NqUnsupportedError(
      'online rotations (model.online) on the webgpu backend',
      'Run models with online rotations on the cpu backend.',
    );
  }
  const ctx = await getWebGPUDevice();
  const device = ctx.device;
  const c = model.config;
  const w = model.weights;
  const up = (d: Float32Array) => createStorageBuffer(device, d);
  const layers = w.layers.map(
    (l): LayerBuffers => ({
      attnNorm: up(l.attnNorm),
      ffnNorm: up(l.ffnNorm),
      q: up(l.q.data),
      k: up(l.k.data),
      v: up(l.v.data),
      o: up(l.o.data),
      gate: up(l.gate.data),
      up: up(l.up.data),
      down: up(l.down.data),
    }),
  );
  // cos/sin interleaved, computed in float64 on the host exactly as the CPU path does.
  const ropePositions = Math.min(c.seqLen, MAX_ATTENTION_TOKENS);
  const rt = new RopeTable(c.dim / c.nHeads, c.ropeTheta);
  rt.ensure(ropePositions);
  const cs = new Float32Array(rt.cos.length * 2);
  for (let i = 0; i < rt.cos.length; i++) {
    cs[2 * i] = rt.cos[i]!;
    cs[2 * i + 1] = rt.sin[i]!;
  }
  const buffers = {
    embed: up(w.tokenEmbedding.data),
    layers,
    finalNorm: up(w.finalNorm),
    output: up(w.output.data),
    rope: up(cs),
    ropePositions: rt.positions,
  };
  return {
    model,
    device,
    adapterName: ctx.adapterName,
    buffers,
    destroy() {
      for (const l of layers) for (const b of Object.values(l)) b.destroy();
      for (const b of [buffers.embed, buffers.finalNorm, buffers.output, buffers.rope]) b.destroy();
    },
  };
}

function u32s(...v: number[]): Uint32Array {
  return Uint32Array.from(v);
}

/** Logits [T, vocab] at every position (a fresh sequence starting at position 0). */
export async function forwardWebGPU(gm: GpuModel, tokens: ArrayLike<number>): Promise<Matrix> {
  const { device, model } = gm;
  const c = model.config;
  const T = tokens.length;
  if (T === 0) throw new NqInputError('tokens', 'is empty', 'Pass at least one token id.');
  for (let i = 0; i < T; i++) {
    const t = tokens[i]!;
    if (!Number.isInteger(t) || t < 0 || t >= c.vocabSize)
      throw new NqInputError(
        `tokens[${i}]`,
        `is ${t}, outside [0, ${c.vocabSize})`,
        "Pass integer ids from this model's tokenizer.",
      );
  }
  if (T > gm.buffers.ropePositions) {
    throw new NqUnsupportedError(
      `${T} tokens on the webgpu backend`,
      `At most ${gm.buffers.ropePositions} (min(seqLen, ${MAX_ATTENTION_TOKENS})) per forward.`,
    );
  }
  const hd = c.dim / c.nHeads;
  const qDim = c.nHeads * hd;
  const kv = c.nKvHeads * hd;
  const temps: GPUBuffer[] = [];
  const buf = (floats: number) => {
    const b = createStorageBuffer(device, floats * 4);
    temps.push(b);
    return b;
  };
  const uni = (data: ArrayBufferView) => {
    const b = createUniformBuffer(device, data);
    temps.push(b);
    return b;
  };
  const ids = createStorageBuffer(device, Uint32Array.from(tokens as ArrayLike<number>));
  temps.push(ids);
  const x = buf(T * c.dim);
  const xn = buf(T * c.dim);
  const q = buf(T * qDim);
  const k = buf(T * kv);
  const v = buf(T * kv);
  const att = buf(T * qDim);
  const gate = buf(T * c.hiddenDim);
  const upb = buf(T * c.hiddenDim);
  const logits = buf(T * c.vocabSize);

  const pMatmul = getPipeline(device, MATMUL_WGSL);
  const pNorm = getPipeline(device, RMSNORM_WGSL);
  const pRope = getPipeline(device, ROPE_WGSL);
  const pAttn = getPipeline(device, ATTENTION_WGSL);
  const pSwiglu = getPipeline(device, SWIGLU_WGSL);
  const pEmbed = getPipeline(device, EMBED_WGSL);
  const enc = device.createCommandEncoder();
  const grid64 = (n: number) => workgroupGrid(device, Math.ceil(n / 64));
  const f32u = (f: number) => new Uint32Array(new Float32Array([f]).buffer)[0]!;

  const matmul = (
    xin: GPUBuffer,
    K: number,
    wgt: GPUBuffer,
    N: number,
    out: GPUBuffer,
    accumulate: boolean,
  ) =>
    dispatch(
      device,
      pMatmul,
      [uni(u32s(T, K, N, accumulate ? 1 : 0)), xin, wgt, out],
      [Math.ceil(N / 64), Math.ceil(T / 64)],
      enc,
    );
  const norm = (xin: GPUBuffer, g: GPUBuffer, out: GPUBuffer) =>
    dispatch(device, pNorm, [uni(u32s(T, c.dim, f32u(c.normEps), 0)), xin, g, out], [T], enc);
  const rope = (b: GPUBuffer, width: number) =>
    dispatch(device, pRope, [uni(u32s(T, width, hd, 0)), b, gm.buffers.rope], grid64((T * width) / 2), enc);

  dispatch(device, pEmbed, [uni(u32s(T, c.dim, 0, 0)), gm.buffers.embed, ids, x], grid64(T * c.dim), enc);
  for (const L of gm.buffers.layers) {
    norm(x, L.attnNorm, xn);
    matmul(xn, c.dim, L.q, qDim, q, false);
    matmul(xn, c.dim, L.k, kv, k, false);
    matmul(xn, c.dim, L.v, kv, v, false);
    rope(q, qDim);
    rope(k, kv);
    dispatch(
      device,
      pAttn,
      [uni(u32s(T, c.nHeads, c.nKvHeads, hd, f32u(1 / Math.sqrt(hd)), 0, 0, 0)), q, k, v, att],
      [T, c.nHeads],
      enc,
    );
    matmul(att, qDim, L.o, c.dim, x, true);
    norm(x, L.ffnNorm, xn);
    matmul(xn, c.dim, L.gate, c.hiddenDim, gate, false);
    matmul(xn, c.dim, L.up, c.hiddenDim, upb, false);
    dispatch(device, pSwiglu, [uni(u32s(T * c.hiddenDim, 0, 0, 0)), gate, upb], grid64(T * c.hiddenDim), enc);
    matmul(gate, c.hiddenDim, L.down, c.dim, x, true);
  }
  norm(x, gm.buffers.finalNorm, xn);
  matmul(xn, c.dim, gm.buffers.output, c.vocabSize, logits, false);
  device.queue.submit([enc.finish()]);
  try {
    const data = new Float32Array(await readBuffer(device, logits, T * c.vocabSize * 4));
    return { rows: T, cols: c.vocabSize, data };
  } finally {
    for (const b of temps) b.destroy();
  }
}
