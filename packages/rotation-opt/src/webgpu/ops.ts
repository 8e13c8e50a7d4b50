import { NqInputError, NqUnsupportedError } from '@nq/core';
import {
  createStorageBuffer,
  createUniformBuffer,
  dispatch,
  getPipeline,
  getWebGPUDevice,
  readBuffer,
  workgroupGrid,
} from '@nq/core/webgpu';
import type { W4A4Format } from '../quantizers.js';
import type { ExpectedErrorSurrogate } from '../surrogate.js';
import {
  blockCrossShader,
  blockGemmShader,
  int4RowShader,
  nvfp4Shader,
  rowAbsMaxShader,
  rowSqDiffShader,
  surrogateShader,
  TILE,
  weightedDiffShader,
} from './shaders.js';

/**
 * One set of calibration activations X [rows, n] resident on the GPU, with the scratch matrices
 * of DFRot and AdaCodec (Z = X·E, Ẑ = Q(Z), X̂ = Ẑ·D, G and G·Dᵀ) and the operations on them.
 * Everything O(rows·n·b) runs here in float32; what comes back per call is small: per-row
 * errors (rows floats), block cross products (n·b floats per row split), summed in float64.
 */
export type GpuMat = 'x' | 'z' | 'zq' | 'y' | 'g' | 'gdt';

export class WebGpuActivations {
  private readonly bufs: Record<GpuMat, GPUBuffer>;
  private readonly w: GPUBuffer;
  private readonly ones: GPUBuffer;
  private readonly rowErr: GPUBuffer;
  private readonly rowMax: GPUBuffer;
  private readonly surVal: GPUBuffer;
  private readonly mats = new Map<number, GPUBuffer>();
  private crossOut: GPUBuffer | null = null;
  private readonly uniforms = new Map<string, GPUBuffer>();
  /** Σ wₜ‖xₜ‖² (float64, from the host copy). */
  readonly den: number;
  private destroyed = false;

  private constructor(
    readonly device: GPUDevice,
    readonly rows: number,
    readonly n: number,
    readonly format: W4A4Format,
    readonly chunkRows: number,
    private readonly weights: Float64Array | null,
    x: Float32Array,
  ) {
    const len = rows * n * 4;
    this.bufs = {
      x: createStorageBuffer(device, x),
      z: createStorageBuffer(device, len),
      zq: createStorageBuffer(device, len),
      y: createStorageBuffer(device, len),
      g: createStorageBuffer(device, len),
      gdt: createStorageBuffer(device, len),
    };
    this.w = createStorageBuffer(
      device,
      weights ? Float32Array.from(weights) : new Float32Array(rows).fill(1),
    );
    this.ones = createStorageBuffer(device, new Float32Array(rows).fill(1));
    this.rowErr = createStorageBuffer(device, rows * 4);
    this.rowMax = createStorageBuffer(device, rows * 4);
    this.surVal = createStorageBuffer(device, rows * n * 4 > 0 ? rows * (n / 16) * 4 : 4);
    let den = 0;
    for (let t = 0; t < rows; t++) {
      let s = 0;
      for (let j = t * n; j < (t + 1) * n; j++) s += x[j]! * x[j]!;
      den += (weights ? weights[t]! : 1) * s;
    }
    this.den = den > 0 ? den : 1;
  }

  /**
   * Uploads X [rows, n] (float32). `chunkRows`: NVFP4's global scale is per chunk of rows (one
   * window; 0 = all rows). n must be a multiple of 16.
   */
  static async create(
    x: Float32Array,
    rows: number,
    n: number,
    format: W4A4Format,
    opts: { chunkRows?: number; weights?: Float64Array | null } = {},
  ): Promise<WebGpuActivations> {
    if (x.length !== rows * n || rows < 1)
      throw new NqInputError(
        'x',
        `has ${x.length} entries, expected rows·n = ${rows * n}`,
        'Pass calibration activations as a row-major rows × n array.',
      );
    if (n % TILE !== 0)
      throw new NqUnsupportedError(
        `n = ${n} on webgpu (the kernels use 16 × 16 tiles)`,
        'Use the cpu backend, or a dimension that is a multiple of 16.',
      );
    if (format !== 'int4' && format !== 'nvfp4')
      throw new NqInputError('format', `is ${JSON.stringify(format)}`, "Use 'int4' or 'nvfp4'.");
    const w = opts.weights ?? null;
    if (w && w.length !== rows)
      throw new NqInputError(
        'weights',
        `has ${w.length} entries for ${rows} tokens`,
        'Pass one weight per token.',
      );
    const { device } = await getWebGPUDevice();
    return new WebGpuActivations(device, rows, n, format, opts.chunkRows ?? 0, w, x);
  }

  private uniform(words: ArrayBufferView, key: string): GPUBuffer {
    let u = this.uniforms.get(key);
    if (!u) {
      u = createUniformBuffer(this.device, words);
      this.uniforms.set(key, u);
    }
    return u;
  }

  private u4(a: number, b: number, c: number, d: number): GPUBuffer {
    return this.uniform(new Uint32Array([a, b, c, d]), `${a},${b},${c},${d}`);
  }

  private grid1(threads: number, perGroup: number): [number, number, number] {
    return workgroupGrid(this.device, Math.ceil(threads / perGroup));
  }

  /** Uploads a block-diagonal matrix (n/b blocks of b × b, or dense n × n with b = n) to slot `slot`. */
  setMatrix(slot: number, blocks: ArrayLike<number>, block: number): void {
    if (block % TILE !== 0 || this.n % block !== 0)
      throw new NqUnsupportedError(
        `block ${block} on webgpu`,
        'Use a block size that is a multiple of 16 and divides n (e.g. 64), or the cpu backend.',
      );
    if (blocks.length !== (this.n / block) * block * block)
      throw new NqInputError(
        'blocks',
        `has ${blocks.length} entries`,
        `Pass n·b = ${this.n * block} values.`,
      );
    let buf = this.mats.get(slot);
    if (!buf || buf.size < blocks.length * 4) {
      buf?.destroy();
      buf = createStorageBuffer(this.device, blocks.length * 4);
      this.mats.set(slot, buf);
    }
    const f = blocks instanceof Float32Array ? blocks : Float32Array.from(blocks);
    this.device.queue.writeBuffer(buf, 0, f.buffer, f.byteOffset, f.byteLength);
  }

  /** dst = src·B (trans: src·Bᵀ) with the block-diagonal matrix in `slot`. */
  gemm(src: GpuMat, slot: number, block: number, dst: GpuMat, trans = false): void {
    const b = this.mats.get(slot);
    if (!b) throw new NqInputError('slot', `${slot} is empty`, 'Call setMatrix first.');
    const pipe = getPipeline(this.device, blockGemmShader);
    dispatch(
      this.device,
      pipe,
      [this.bufs[src], b, this.bufs[dst], this.u4(this.rows, this.n, block, trans ? 1 : 0)],
      [this.n / TILE, Math.ceil(this.rows / TILE)],
    );
  }

  /** zq = Q(z) in this activation format. */
  quantize(src: GpuMat = 'z', dst: GpuMat = 'zq'): void {
    const { device, rows, n } = this;
    if (this.format === 'int4') {
      dispatch(
        device,
        getPipeline(device, int4RowShader),
        [this.bufs[src], this.bufs[dst], this.u4(rows, n, 0, 0)],
        this.grid1(rows, 64),
      );
      return;
    }
    dispatch(
      device,
      getPipeline(device, rowAbsMaxShader),
      [this.bufs[src], this.rowMax, this.u4(rows, n, 0, 0)],
      this.grid1(rows, 64),
    );
    const chunk = this.chunkRows > 0 ? this.chunkRows : rows;
    dispatch(
      device,
      getPipeline(device, nvfp4Shader),
      [this.bufs[src], this.rowMax, this.bufs[dst], this.u4(rows, n, chunk, 0)],
      this.grid1(rows * (n / 16), 64),
    );
  }

  /** Σₜ wₜ‖aₜ − bₜ‖² / Σₜ wₜ‖xₜ‖² (per-row sums on the GPU, weighted sum in float64). */
  async relativeError(a: GpuMat, b: GpuMat): Promise<number> {
    const { device, rows, n } = this;
    dispatch(
      device,
      getPipeline(device, rowSqDiffShader),
      [this.bufs[a], this.bufs[b], this.rowErr, this.u4(rows, n, 0, 0)],
      this.grid1(rows, 64),
    );
    const e = new Float32Array(await readBuffer(device, this.rowErr, rows * 4));
    let num = 0;
    const w = this.weights;
    for (let t = 0; t < rows; t++) num += (w ? w[t]! : 1) * e[t]!;
    return num / this.den;
  }

  /** g = w·(y − x). */
  weightedResidual(): void {
    const { device, rows, n } = this;
    dispatch(
      device,
      getPipeline(device, weightedDiffShader),
      [this.bufs.y, this.bufs.x, this.w, this.bufs.g, this.u4(rows, n, 0, 0)],
      this.grid1(rows * n, 256),
    );
  }

  /** Per block k: A_kᵀ·diag(w)·C_k, b × b blocks (float64; w = the token weights or 1). */
  async cross(a: GpuMat, c: GpuMat, block: number, weighted: boolean): Promise<Float64Array> {
    const { device, rows, n } = this;
    const bb = block * block;
    const nb = n / block;
    // Split the token sum over workgroups (parallelism on big GPUs), ≥ 256 rows per split.
    const splits = Math.max(1, Math.min(64, Math.floor(rows / 256)));
    const per = Math.ceil(rows / splits / TILE) * TILE;
    const size = splits * nb * bb * 4;
    if (!this.crossOut || this.crossOut.size < size) {
      this.crossOut?.destroy();
      this.crossOut = createStorageBuffer(device, size);
    }
    dispatch(
      device,
      getPipeline(device, blockCrossShader),
      [
        this.bufs[a],
        this.bufs[c],
        weighted ? this.w : this.ones,
        this.crossOut,
        this.u4(rows, n, block, per),
      ],
      [n / TILE, block / TILE, Math.ceil(rows / per)],
    );
    const used = Math.ceil(rows / per);
    const part = new Float32Array(await readBuffer(device, this.crossOut, used * nb * bb * 4));
    const out = new Float64Array(nb * bb);
    for (let s = 0; s < used; s++)
      for (let i = 0; i < nb * bb; i++) out[i] = out[i]! + part[s * nb * bb + i]!;
    return out;
  }

  /** g = ∂S/∂Z of the expected-error surrogate at Z; returns S. */
  async surrogate(s: ExpectedErrorSurrogate): Promise<number> {
    const { device, rows, n } = this;
    const group = s.group === 0 ? n : s.group;
    const words = new ArrayBuffer(32);
    new Uint32Array(words, 0, 4).set([rows, n, group, 0]);
    new Float32Array(words, 16, 4).set([s.p, 1 / this.den, 0, 0]);
    const u = createUniformBuffer(device, new Uint8Array(words));
    const units = rows * (n / group);
    dispatch(
      device,
      getPipeline(device, surrogateShader),
      [this.bufs.z, this.w, this.bufs.g, this.surVal, u],
      this.grid1(units, 64),
    );
    const v = new Float32Array(await readBuffer(device, this.surVal, units * 4));
    u.destroy();
    let sum = 0;
    for (let i = 0; i < units; i++) sum += v[i]!;
    return sum / this.den;
  }

  /** Reads a matrix back (tests). */
  async read(m: GpuMat): Promise<Float32Array> {
    return new Float32Array(await readBuffer(this.device, this.bufs[m], this.rows * this.n * 4));
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const b of Object.values(this.bufs)) b.destroy();
    for (const b of [this.w, this.ones, this.rowErr, this.rowMax, this.surVal]) b.destroy();
    for (const b of this.mats.values()) b.destroy();
    for (const b of this.uniforms.values()) b.destroy();
    this.crossOut?.destroy();
  }
}
