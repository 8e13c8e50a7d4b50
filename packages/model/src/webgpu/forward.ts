import { type Matrix, NqInputError, NqUnsupportedError } from '@nq/core';
import {
  createStorageBuffer,
  createUniformBuffer,
  dispatch,
  type GpuMatrix,
  getPipeline,
  getWebGPUDevice,
  readBuffer,
  workgroupGrid,
} from '@nq/core/webgpu';
import { RopeTable } from '../cpu/ops.js';
import type { LinearName, LoadedModel } from '../types.js';
import type { GpuForwardHooks, GpuWork } from './hooks.js';
import type { GpuKvCache } from './kv-cache.js';
import { recordMatmul } from './matmul.js';
import {
  ATTENTION_CHANNELS_PER_THREAD,
  ATTENTION_WGSL,
  EMBED_WGSL,
  RMSNORM_WGSL,
  ROPE_WGSL,
  SWIGLU_WGSL,
} from './shaders.js';

/**
 * WebGPU forward pass: the model's weights uploaded once and kept on the GPU (`uploadModel`), then
 * `forwardWebGPU(gpuModel, tokens, opts)` encodes the whole pass — embedding, per layer RMSNorm,
 * tiled GEMMs (residual adds fused into o/down), RoPE, fused per-head attention (over a KV cache
 * when one is given), SwiGLU, the model's online rotation before down_proj, and the GPU hooks
 * (activation fake-quant, rotations, KV quantization) — into one command buffer and reads back only
 * the logits.
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
    /** Rᵀ of model.online.downInput (so that the GEMM X·(Rᵀ)ᵀ = X·R), or null. */
    downRotT: GPUBuffer | null;
  };
}

export interface WebGPUForwardOptions {
  /**
   * Continue from this cache: the tokens take positions cache.length… and their K/V rows are
   * appended (decode, or chunked prefill). Without a cache every call starts a fresh sequence.
   */
  cache?: GpuKvCache;
  /** Logits of the last token only: the result is [1, vocab] (decoding). */
  lastOnly?: boolean;
  /** GPU hooks: rotate/fake-quantize linear inputs, quantize K/V rows (see hooks.ts). */
  hooks?: GpuForwardHooks;
}

/** The dense matrix of an orthogonal operator: R = I·R, one row of the identity at a time in blocks. */
function denseOf(op: { dim: number; applyRight(m: Matrix): Matrix }): Float32Array {
  const n = op.dim;
  const eye = new Float32Array(n * n);
  for (let i = 0; i < n; i++) eye[i * n + i] = 1;
  const r = op.applyRight({ rows: n, cols: n, data: eye });
  if (r.rows !== n || r.cols !== n) {
    throw new NqInputError(
      'model.online.downInput',
      `maps an ${n}×${n} identity to ${r.rows}×${r.cols}`,
      'Pass a square orthogonal operator of the SwiGLU width.',
    );
  }
  return r.data;
}

function transpose(a: Float32Array, n: number): Float32Array {
  const t = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = a[i * n + j]!;
  return t;
}

/** Uploads `model` to the process's WebGPU device (weights resident until `destroy()`). */
export async function uploadModel(model: LoadedModel): Promise<GpuModel> {
  const ctx = await getWebGPUDevice();
  const device = ctx.device;
  const c = model.config;
  const w = model.weights;
  const r4 = model.online?.downInput;
  if (r4 && r4.dim !== c.hiddenDim) {
    throw new NqUnsupportedError(
      `an online down_proj rotation of size ${r4.dim} (hidden ${c.hiddenDim})`,
      'Build it with onlineRotateDown(model, R) for R of the SwiGLU width.',
    );
  }
  const headDim = c.dim / c.nHeads;
  if (headDim > 64 * ATTENTION_CHANNELS_PER_THREAD) {
    throw new NqUnsupportedError(
      `head size ${headDim} on the webgpu backend`,
      `The attention kernel takes heads of up to ${64 * ATTENTION_CHANNELS_PER_THREAD} channels; use the cpu backend.`,
    );
  }
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
  const ropePositions = c.seqLen;
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
    downRotT: r4 ? up(transpose(denseOf(r4), c.hiddenDim)) : null,
  };
  return {
    model,
    device,
    adapterName: ctx.adapterName,
    buffers,
    destroy() {
      for (const l of layers) for (const b of Object.values(l)) b.destroy();
      for (const b of [buffers.embed, buffers.finalNorm, buffers.output, buffers.rope]) b.destroy();
      buffers.downRotT?.destroy();
    },
  };
}

function u32s(...v: number[]): Uint32Array {
  return Uint32Array.from(v);
}

const f32u = (f: number) => new Uint32Array(new Float32Array([f]).buffer)[0]!;

function checkTokens(tokens: ArrayLike<number>, vocab: number): void {
  if (!tokens || typeof tokens.length !== 'number' || tokens.length === 0)
    throw new NqInputError('tokens', 'is empty', 'Pass at least one token id.');
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (!Number.isInteger(t) || t < 0 || t >= vocab)
      throw new NqInputError(
        `tokens[${i}]`,
        `is ${t}, outside [0, ${vocab})`,
        "Pass integer ids from this model's tokenizer.",
      );
  }
}

/** A hook's replacement must have the shape of what it replaces. */
function checkHookResult(r: GpuMatrix, rows: number, cols: number, what: string): GpuMatrix {
  if (!r || r.rows !== rows || r.cols !== cols || !r.buffer || r.buffer.size < rows * cols * 4) {
    throw new NqInputError(
      'hooks',
      `returned a ${r?.rows}×${r?.cols} matrix for ${what}, expected ${rows}×${cols}`,
      'Return a GpuMatrix of the input shape, or undefined.',
    );
  }
  return r;
}

/**
 * Logits [T, vocab] at every position ([1, vocab] with `lastOnly`). Without a cache the tokens are
 * a fresh sequence at positions 0..T−1; with one they continue it (and are appended to it).
 */
export async function forwardWebGPU(
  gm: GpuModel,
  tokens: ArrayLike<number>,
  opts: WebGPUForwardOptions = {},
): Promise<Matrix> {
  const { device, model } = gm;
  const c = model.config;
  checkTokens(tokens, c.vocabSize);
  const T = tokens.length;
  const { cache, hooks } = opts;
  const hd = c.dim / c.nHeads;
  const qDim = c.nHeads * hd;
  const kv = c.nKvHeads * hd;
  let past = 0;
  if (cache) {
    if (cache.owner !== gm)
      throw new NqInputError(
        'cache',
        'belongs to another uploaded model',
        'Create it with createGpuKvCache(thisGpuModel).',
      );
    if (cache.destroyed)
      throw new NqInputError('cache', 'was destroyed', 'Create a new one with createGpuKvCache().');
    if (cache.length + T > cache.maxLen)
      throw new NqInputError(
        'tokens',
        `${T} more tokens overflow the cache (${cache.length} of ${cache.maxLen} used)`,
        'Create a larger cache or reset it.',
      );
    past = cache.length;
  }
  if (past + T > gm.buffers.ropePositions) {
    throw new NqUnsupportedError(
      `position ${past + T} on the webgpu backend`,
      `At most ${gm.buffers.ropePositions} positions per sequence (the model's seqLen, which sizes the RoPE table).`,
    );
  }
  const work: GpuWork = { device, encoder: device.createCommandEncoder(), temps: [] };
  const enc = work.encoder;
  const buf = (floats: number) => {
    const b = createStorageBuffer(device, floats * 4);
    work.temps.push(b);
    return b;
  };
  const uni = (data: ArrayBufferView) => {
    const b = createUniformBuffer(device, data);
    work.temps.push(b);
    return b;
  };
  try {
    const ids = createStorageBuffer(device, Uint32Array.from(tokens as ArrayLike<number>));
    work.temps.push(ids);
    const x = buf(T * c.dim);
    const xn = buf(T * c.dim);
    const q = buf(T * qDim);
    const kNew = buf(T * kv);
    const vNew = buf(T * kv);
    const att = buf(T * qDim);
    const gate = buf(T * c.hiddenDim);
    const upb = buf(T * c.hiddenDim);
    const rotated = gm.buffers.downRotT ? buf(T * c.hiddenDim) : null;
    const outRows = opts.lastOnly ? 1 : T;
    const logits = buf(outRows * c.vocabSize);

    const pNorm = getPipeline(device, RMSNORM_WGSL);
    const pRope = getPipeline(device, ROPE_WGSL);
    const pAttn = getPipeline(device, ATTENTION_WGSL);
    const pSwiglu = getPipeline(device, SWIGLU_WGSL);
    const pEmbed = getPipeline(device, EMBED_WGSL);
    const grid64 = (n: number) => workgroupGrid(device, Math.ceil(n / 64));

    const matmul = (
      rows: number,
      xin: GPUBuffer,
      K: number,
      wgt: GPUBuffer,
      N: number,
      out: GPUBuffer,
      accumulate: boolean,
    ) => recordMatmul(work, { rows, cols: K, buffer: xin }, wgt, N, out, accumulate);
    const norm = (rows: number, xin: GPUBuffer, g: GPUBuffer, out: GPUBuffer) =>
      dispatch(device, pNorm, [uni(u32s(rows, c.dim, f32u(c.normEps), 0)), xin, g, out], [rows], enc);
    const rope = (b: GPUBuffer, width: number) =>
      dispatch(
        device,
        pRope,
        [uni(u32s(T, width, hd, past)), b, gm.buffers.rope],
        grid64((T * width) / 2),
        enc,
      );
    // The input the linears of a group read: the hook's replacement, or x itself.
    const linearInput = (layer: number, group: 'attn' | 'o' | 'ffn' | 'down', xin: GPUBuffer, K: number) => {
      const r = hooks?.linearInput?.(layer, group, { rows: T, cols: K, buffer: xin }, work);
      return r ? checkHookResult(r, T, K, `layer ${layer} ${group} input`).buffer : xin;
    };
    const kvRows = (layer: number, kind: 'k' | 'v', rows: GPUBuffer) => {
      const r = hooks?.kvRows?.(layer, kind, { rows: T * c.nKvHeads, cols: hd, buffer: rows }, work);
      if (!r) return;
      checkHookResult(r, T * c.nKvHeads, hd, `layer ${layer} ${kind} rows`);
      if (r.buffer !== rows) enc.copyBufferToBuffer(r.buffer, 0, rows, 0, T * kv * 4);
    };

    dispatch(device, pEmbed, [uni(u32s(T, c.dim, 0, 0)), gm.buffers.embed, ids, x], grid64(T * c.dim), enc);
    for (let l = 0; l < c.nLayers; l++) {
      const L = gm.buffers.layers[l]!;
      norm(T, x, L.attnNorm, xn);
      const xa = linearInput(l, 'attn', xn, c.dim);
      matmul(T, xa, c.dim, L.q, qDim, q, false);
      matmul(T, xa, c.dim, L.k, kv, kNew, false);
      matmul(T, xa, c.dim, L.v, kv, vNew, false);
      rope(q, qDim);
      rope(kNew, kv);
      kvRows(l, 'k', kNew);
      kvRows(l, 'v', vNew);
      let kAll = kNew;
      let vAll = vNew;
      if (cache) {
        enc.copyBufferToBuffer(kNew, 0, cache.k[l]!, past * kv * 4, T * kv * 4);
        enc.copyBufferToBuffer(vNew, 0, cache.v[l]!, past * kv * 4, T * kv * 4);
        kAll = cache.k[l]!;
        vAll = cache.v[l]!;
      }
      dispatch(
        device,
        pAttn,
        [uni(u32s(T, c.nHeads, c.nKvHeads, hd, f32u(1 / Math.sqrt(hd)), past, 0, 0)), q, kAll, vAll, att],
        [T, c.nHeads],
        enc,
      );
      matmul(T, linearInput(l, 'o', att, qDim), qDim, L.o, c.dim, x, true);
      norm(T, x, L.ffnNorm, xn);
      const xf = linearInput(l, 'ffn', xn, c.dim);
      matmul(T, xf, c.dim, L.gate, c.hiddenDim, gate, false);
      matmul(T, xf, c.dim, L.up, c.hiddenDim, upb, false);
      dispatch(
        device,
        pSwiglu,
        [uni(u32s(T * c.hiddenDim, 0, 0, 0)), gate, upb],
        grid64(T * c.hiddenDim),
        enc,
      );
      let h = gate;
      if (rotated && gm.buffers.downRotT) {
        // The model's online rotation (QuaRot's R4): h·R, before any hook sees down's input.
        matmul(T, gate, c.hiddenDim, gm.buffers.downRotT, c.hiddenDim, rotated, false);
        h = rotated;
      }
      matmul(T, linearInput(l, 'down', h, c.hiddenDim), c.hiddenDim, L.down, c.dim, x, true);
    }
    // Final norm and classifier (last row only when decoding).
    let xf = x;
    if (opts.lastOnly && T > 1) {
      xf = buf(c.dim);
      enc.copyBufferToBuffer(x, (T - 1) * c.dim * 4, xf, 0, c.dim * 4);
    }
    norm(outRows, xf, gm.buffers.finalNorm, xn);
    matmul(outRows, xn, c.dim, gm.buffers.output, c.vocabSize, logits, false);
    device.queue.submit([enc.finish()]);
    if (cache) cache.length += T;
    const data = new Float32Array(await readBuffer(device, logits, outRows * c.vocabSize * 4));
    return { rows: outRows, cols: c.vocabSize, data };
  } finally {
    for (const b of work.temps) b.destroy();
  }
}
