import { assertMatrix, type Matrix, NqInputError, NqUnsupportedError } from '@nq/core';
import {
  createStorageBuffer,
  createUniformBuffer,
  dispatch,
  getPipeline,
  getWebGPUDevice,
  readBuffer,
} from '@nq/core/webgpu';
import { newColumnLoop, quantizeBlock } from '../cpu/column-loop.js';
import { type GptqOptions, type GptqResult, gptqFinish, gptqSetup } from '../cpu/gptq.js';
import { checkLayerInput, type Hessian, hessianFromUpperSums, requireSamples } from '../cpu/hessian.js';
import { hessianShader, lazyUpdateShader, TILE } from './shaders.js';

/*
 * WebGPU backend: the Hessian accumulation (XᵀX) and GPTQ's lazy batch update — the two parts that
 * cost O(tokens·n²) and O(rows·cols²) — run on the GPU in float32; the per-column loop inside a
 * block (O(rows·cols·blockSize)), the Cholesky factorisation and the scheme's rounding stay on the
 * CPU in float64, exactly as in the cpu backend.
 */

/** Largest batch uploaded at once (bytes); bigger X are split. */
const MAX_BATCH_BYTES = 64 * 2 ** 20;

/**
 * H = 2·XᵀX/N accumulated on the GPU: each batch's XᵀX in float32 (16×16 tiles, upper triangle),
 * added to a resident sum with Kahan compensation; finalize() reads back once and returns the
 * float64 Hessian. `merge` adds another GPU accumulator's sums (read back, float64).
 */
export class HessianAccumulatorWebGPU {
  samples = 0;
  private constructor(
    readonly n: number,
    private readonly device: GPUDevice,
    private readonly s: GPUBuffer,
    private readonly c: GPUBuffer,
  ) {}

  static async create(n: number): Promise<HessianAccumulatorWebGPU> {
    if (!Number.isInteger(n) || n < 1)
      throw new NqInputError(
        'n',
        `must be a positive integer (the layer's input size), got ${n}`,
        'Pass the number of input columns.',
      );
    const { device } = await getWebGPUDevice();
    return new HessianAccumulatorWebGPU(
      n,
      device,
      createStorageBuffer(device, n * n * 4),
      createStorageBuffer(device, n * n * 4),
    );
  }

  /** Adds the rows of X (tokens × n). */
  add(x: Matrix, name = 'x'): this {
    checkLayerInput(x, this.n, name);
    const n = this.n;
    const per = Math.max(1, Math.floor(MAX_BATCH_BYTES / (4 * n)));
    const pipe = getPipeline(this.device, hessianShader);
    const tiles = Math.ceil(n / TILE);
    for (let t0 = 0; t0 < x.rows; t0 += per) {
      const T = Math.min(per, x.rows - t0);
      const xb = createStorageBuffer(this.device, x.data.subarray(t0 * n, (t0 + T) * n));
      const ub = createUniformBuffer(this.device, new Uint32Array([n, T, 0, 0]));
      dispatch(this.device, pipe, [xb, this.s, this.c, ub], [tiles, tiles]);
      xb.destroy();
      ub.destroy();
    }
    this.samples += x.rows;
    return this;
  }

  /** Σ xᵀx so far, read back to float64 (upper triangle valid). */
  async sums(): Promise<Float64Array> {
    const n = this.n;
    const s = new Float32Array(await readBuffer(this.device, this.s, n * n * 4));
    const c = new Float32Array(await readBuffer(this.device, this.c, n * n * 4));
    const out = new Float64Array(n * n);
    for (let i = 0; i < n * n; i++) out[i] = s[i]! - c[i]!; // Kahan: true sum ≈ s − c
    return out;
  }

  async finalize(): Promise<Hessian> {
    requireSamples('HessianAccumulatorWebGPU', this.samples);
    return hessianFromUpperSums(this.n, await this.sums(), this.samples);
  }

  destroy(): void {
    this.s.destroy();
    this.c.destroy();
  }
}

/** H = 2·XᵀX/N of one matrix on the GPU. */
export async function hessianOfWebGPU(x: Matrix, name = 'x'): Promise<Hessian> {
  assertMatrix(x, name);
  const acc = await HessianAccumulatorWebGPU.create(x.cols);
  try {
    acc.add(x, name);
    return await acc.finalize();
  } finally {
    acc.destroy();
  }
}

/**
 * GPTQ with the lazy batch updates on the GPU (W resident there, transposed, float32; one read-back
 * of each block's columns). Same options and result as `gptqQuantize`; results agree with the cpu
 * backend up to float32 rounding of the updates (a code on a rounding boundary can flip).
 * Groups must not straddle lazy blocks: a group size that divides blockSize, or per-row/tensor
 * schemes, or static groups (NqUnsupportedError otherwise).
 */
export async function gptqQuantizeWebGPU(
  w: Matrix,
  h: Hessian | { n: number; data: Float64Array },
  opts: GptqOptions,
): Promise<GptqResult> {
  const t0 = performance.now();
  const st = gptqSetup(w, h, opts);
  const { rows, cols, gs, grouped, staticGroups, Wd, U, B } = st;
  if (grouped && !staticGroups && B % gs !== 0) {
    throw new NqUnsupportedError(
      `group size ${gs} with blockSize ${B} on webgpu`,
      'Use a blockSize that is a multiple of the group size (e.g. 128 for groups of 32/64/128), or staticGroups: true, or the cpu backend.',
    );
  }
  const { device } = await getWebGPUDevice();
  const timings = { setup: (performance.now() - t0) / 1000, columns: 0, update: 0 };
  // Wᵀ (cols × rows) and U in float32 on the GPU
  const tt = performance.now();
  const wt = new Float32Array(cols * rows);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let p = 0; p < cols; p++) wt[p * rows + r] = Wd[o + p]!;
  }
  const wtBuf = createStorageBuffer(device, wt);
  const uBuf = createStorageBuffer(device, Float32Array.from(U));
  const etBuf = createStorageBuffer(device, B * rows * 4);
  const pBuf = createUniformBuffer(device, new Uint32Array(8));
  const pipe = getPipeline(device, lazyUpdateShader);
  timings.update += (performance.now() - tt) / 1000;
  try {
    const L = newColumnLoop(st);
    const P = new Float64Array(B * rows); // the block's columns as a panel (bw × rows), float64
    const et = new Float32Array(B * rows);
    for (let i1 = 0; i1 < cols; i1 += B) {
      const i2 = Math.min(i1 + B, cols);
      const bw = i2 - i1;
      // this block's columns, with every earlier block's lazy update applied (on the GPU); Wᵀ's
      // rows are W's columns, so the read-back already is the panel
      const tr = performance.now();
      const v = new Float32Array(await readBuffer(device, wtBuf, bw * rows * 4, i1 * rows * 4));
      const tb = performance.now();
      timings.update += (tb - tr) / 1000;
      P.set(v);
      quantizeBlock(st, L, P, i1, i2);
      const tu = performance.now();
      timings.columns += (tu - tb) / 1000;
      if (i2 < cols) {
        for (let k = 0; k < bw * rows; k++) et[k] = L.errT[k]!;
        device.queue.writeBuffer(etBuf, 0, et.buffer, 0, bw * rows * 4);
        device.queue.writeBuffer(pBuf, 0, new Uint32Array([rows, cols, i1, bw, i2, 0, 0, 0]));
        dispatch(
          device,
          pipe,
          [wtBuf, uBuf, etBuf, pBuf],
          [Math.ceil(rows / TILE), Math.ceil((cols - i2) / TILE)],
        );
        timings.update += (performance.now() - tu) / 1000;
      }
    }
    return gptqFinish(w, h, opts, st, L.codes, L.out, L.groupIndex, t0, timings);
  } finally {
    wtBuf.destroy();
    uBuf.destroy();
    etBuf.destroy();
    pBuf.destroy();
  }
}
