import { assertFinite, assertMatrix, type Matrix, NqInputError, NqUnsupportedError } from '@nq/core';
import {
  createStorageBuffer,
  createUniformBuffer,
  dispatch,
  getPipeline,
  getWebGPUDevice,
  readBuffer,
} from '@nq/core/webgpu';
import { type GptqOptions, type GptqResult, gptqFinish, gptqSetup } from '../cpu/gptq.js';
import type { Hessian } from '../cpu/hessian.js';
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
    assertMatrix(x, name);
    if (x.cols !== this.n)
      throw new NqInputError(
        name,
        `has ${x.cols} columns, the accumulator is for ${this.n}`,
        'Pass the inputs of the same layer (tokens × in).',
      );
    assertFinite(x, name);
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
    if (this.samples === 0)
      throw new NqInputError(
        'HessianAccumulatorWebGPU',
        'has seen no rows',
        'Call add(X) with calibration inputs before finalize().',
      );
    const n = this.n;
    const sum = await this.sums();
    const f = 2 / this.samples;
    const h = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) {
        const v = sum[i * n + j]! * f;
        h[i * n + j] = v;
        h[j * n + i] = v;
      }
    }
    return { n, data: h, samples: this.samples };
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
  const { rows, cols, run, gs, grouped, staticGroups, perm, Wd, U, B } = st;
  if (grouped && !staticGroups && B % gs !== 0) {
    throw new NqUnsupportedError(
      `group size ${gs} with blockSize ${B} on webgpu`,
      'Use a blockSize that is a multiple of the group size (e.g. 128 for groups of 32/64/128), or staticGroups: true, or the cpu backend.',
    );
  }
  const { device } = await getWebGPUDevice();
  const orig = (p: number) => (perm ? perm[p]! : p);
  // Wᵀ (cols × rows) and U in float32 on the GPU
  const wt = new Float32Array(cols * rows);
  for (let r = 0; r < rows; r++) for (let p = 0; p < cols; p++) wt[p * rows + r] = Wd[r * cols + p]!;
  const wtBuf = createStorageBuffer(device, wt);
  const uBuf = createStorageBuffer(device, Float32Array.from(U));
  const etBuf = createStorageBuffer(device, B * rows * 4);
  const pBuf = createUniformBuffer(device, new Uint32Array(8));
  const pipe = getPipeline(device, lazyUpdateShader);
  try {
    const codes = run.newCodes();
    const out = new Float32Array(rows * cols);
    const blk = new Float64Array(rows * B); // current block, rows × B (row-major, stride B)
    const x = new Float64Array(rows);
    const q = new Float64Array(rows);
    const err = new Float64Array(rows * B);
    const et = new Float32Array(B * rows);
    const gBlock = grouped && !staticGroups ? new Float64Array(rows * gs) : null;
    const groupIndex = new Int32Array(cols);
    for (let i1 = 0; i1 < cols; i1 += B) {
      const i2 = Math.min(i1 + B, cols);
      const bw = i2 - i1;
      // this block's columns, with every earlier block's lazy update applied (on the GPU)
      const v = new Float32Array(await readBuffer(device, wtBuf, bw * rows * 4, i1 * rows * 4));
      for (let i = 0; i < bw; i++) for (let r = 0; r < rows; r++) blk[r * B + i] = v[i * rows + r]!;
      for (let i = 0; i < bw; i++) {
        const p = i1 + i;
        const c = orig(p);
        let g: number;
        if (staticGroups) g = Math.floor(c / gs);
        else {
          g = Math.floor(p / gs);
          if (p % gs === 0) {
            if (gBlock) {
              // the group lies inside this block (gs divides B)
              for (let r = 0; r < rows; r++)
                for (let j = 0; j < gs; j++) gBlock[r * gs + j] = blk[r * B + i + j]!;
              run.fitGroup(g, gBlock, gs);
            } else {
              // one group = whole rows (p = 0): nothing updated yet
              run.fitGroup(g, Wd, cols);
            }
          }
        }
        groupIndex[c] = g;
        for (let r = 0; r < rows; r++) x[r] = blk[r * B + i]!;
        run.quantizeColumn(g, x, q, codes, c, cols);
        const d = U[p * cols + p]!;
        const up = p * cols + i1;
        for (let r = 0; r < rows; r++) {
          out[r * cols + c] = q[r]!;
          const e = (x[r]! - q[r]!) / d;
          err[r * B + i] = e;
          if (e === 0) continue;
          const br = r * B;
          for (let j = i + 1; j < bw; j++) blk[br + j] -= e * U[up + j]!;
        }
      }
      if (i2 < cols) {
        for (let k = 0; k < bw; k++) for (let r = 0; r < rows; r++) et[k * rows + r] = err[r * B + k]!;
        device.queue.writeBuffer(etBuf, 0, et.buffer, 0, bw * rows * 4);
        device.queue.writeBuffer(pBuf, 0, new Uint32Array([rows, cols, i1, bw, i2, 0, 0, 0]));
        dispatch(
          device,
          pipe,
          [wtBuf, uBuf, etBuf, pBuf],
          [Math.ceil(rows / TILE), Math.ceil((cols - i2) / TILE)],
        );
      }
    }
    return gptqFinish(w, h, opts, st, codes, out, groupIndex, t0);
  } finally {
    wtBuf.destroy();
    uBuf.destroy();
    etBuf.destroy();
    pBuf.destroy();
  }
}
