import { type Matrix, NqInputError, NqUnsupportedError } from '@nq/core';
import { type GpuJsMode, getGpuJs } from '@nq/core/gpujs';
import type { CompiledRotation, RotationSpec } from '@nq/hadamard';
import { rotate } from '@nq/hadamard/cpu';
import { defaultWasmGemm, gemmABt } from '@nq/model/cpu';
import { TARGET_BITS } from '../cpu/evaluator.js';
import { checkEvaluatorOperands, compileCandidates } from '../evaluator-operands.js';
import type { QuantTarget } from '../types.js';
import {
  fakeQuantRowKernel,
  gemmErrorKernel,
  rotateBatchKernel,
  rowErrorKernel,
  rowScaleKernel,
} from './kernels.js';

/** gpu.js indexes arrays in float32: every array a kernel reads or writes stays below 2^24 elements. */
const MAX_ELEMENTS = 2 ** 24 - 1;
/** Outputs summed per thread by the GEMM-error kernel (fewer threads, a small read-back). */
const OUTPUTS_PER_THREAD = 32;

// biome-ignore lint/suspicious/noExplicitAny: gpu.js kernels and pipeline handles are untyped
type Kernel = any;

export interface GpuJsEvaluatorOptions {
  /** gpu.js mode (default 'webgpu'; 'webasm' and 'cpu' run everywhere). */
  mode?: GpuJsMode;
  /** Most candidates per kernel launch (default 32; fewer when the 2^24-element limit requires). */
  maxBatch?: number;
}

/**
 * Batched candidate evaluation with gpu.js kernels — the same errors as CpuErrorEvaluator (the
 * reference), computed differently: each candidate's rotation is made dense on the host (the
 * identity rotated by @nq/hadamard's CPU kernel, so R is exactly the rotation the CPU applies), and a
 * batch of candidates is ONE rotate-as-GEMM kernel launch over all of them, followed by:
 *  - int8 / int4: one per-row error kernel (Σ(x̂ − x)², Σx² per candidate row) and one read-back;
 *  - w4a4: per-row scale and fake-quant kernels for X·R and W·R, then one GEMM-error kernel whose
 *    threads each sum 32 outputs' (Ŷ − Y)² — one read-back of candidates × tokens × ⌈out/32⌉ floats.
 * Intermediates stay on the device (gpu.js pipeline mode) in 'webgpu' mode. Sums of the read-back
 * partials are taken in float64 on the host; ΣY² comes from the host's Y = X·Wᵀ (float32 GEMM, as the
 * CPU evaluator's). Dense rotation costs dim FMAs per element instead of the FWHT's log2(block): GPU
 * work, not host work; the host builds each R in O(dim² log dim).
 */
export class GpuJsErrorEvaluator {
  evaluations = 0;
  private readonly kernels = new Map<string, Kernel>();

  private constructor(
    readonly target: QuantTarget,
    readonly dim: number,
    readonly tokens: number,
    readonly mode: GpuJsMode,
    // biome-ignore lint/suspicious/noExplicitAny: gpu.js instance
    private readonly gpu: any,
    private readonly x: Matrix,
    private readonly w: Matrix | null,
    private readonly y: Float32Array | null,
    private readonly ySignal: number,
    private readonly maxBatch: number,
  ) {}

  static async create(
    x: Matrix,
    target: QuantTarget,
    w?: Matrix | null,
    options: GpuJsEvaluatorOptions = {},
  ): Promise<GpuJsErrorEvaluator> {
    const wChecked = checkEvaluatorOperands(x, target, w);
    const maxBatch = options.maxBatch ?? 32;
    if (!Number.isInteger(maxBatch) || maxBatch < 1)
      throw new NqInputError('options.maxBatch', `is ${maxBatch}`, 'Use an integer ≥ 1.');
    let y: Float32Array | null = null;
    let ySignal = 0;
    if (wChecked) {
      y = new Float32Array(x.rows * wChecked.rows);
      (defaultWasmGemm()?.gemm ?? gemmABt)(x.data, x.rows, x.cols, wChecked.data, wChecked.rows, y);
      for (let i = 0; i < y.length; i++) ySignal += y[i]! * y[i]!;
    }
    const perCandidate = Math.max(x.cols * x.cols, x.rows * x.cols, w ? w.rows * x.cols : 0);
    if (perCandidate > MAX_ELEMENTS)
      throw new NqUnsupportedError(
        `${x.rows} tokens × ${x.cols} channels${w ? ` (W ${w.rows} × ${w.cols})` : ''} on gpu.js`,
        'gpu.js indexes in float32: keep dim², tokens·dim and out·dim below 2^24, or use the cpu/webgpu backend.',
      );
    const mode = options.mode ?? 'webgpu';
    const { gpu } = await getGpuJs(mode);
    return new GpuJsErrorEvaluator(
      target,
      x.cols,
      x.rows,
      mode,
      gpu,
      x,
      target === 'w4a4' ? w! : null,
      y,
      ySignal,
      Math.max(1, Math.min(maxBatch, Math.floor(MAX_ELEMENTS / perCandidate))),
    );
  }

  /** One kernel per (role, output size): distinct roles never share an output buffer. */
  private kernel(role: string, fn: unknown, size: number, loopMax: number, pipeline: boolean): Kernel {
    const key = `${role}:${size}`;
    let k = this.kernels.get(key);
    if (!k) {
      k = this.gpu.createKernel(fn, {
        output: [size],
        loopMaxIterations: Math.max(1, loopMax),
        dynamicArguments: true,
        tactic: 'precision',
        precision: 'single',
        pipeline,
      });
      this.kernels.set(key, k);
    }
    return k;
  }

  /** Dense R (dim × dim) of each rotation, back to back: rows of the identity rotated on the CPU. */
  private denseRotations(compiled: readonly CompiledRotation[]): Float32Array {
    const d = this.dim;
    const out = new Float32Array(compiled.length * d * d);
    const eye: Matrix = { rows: d, cols: d, data: new Float32Array(d * d) };
    for (let i = 0; i < d; i++) eye.data[i * d + i] = 1;
    compiled.forEach((c, i) => {
      const r: Matrix = { rows: d, cols: d, data: out.subarray(i * d * d, (i + 1) * d * d) };
      rotate(eye, c, { out: r, checkFinite: false });
    });
    return out;
  }

  /** Relative errors of a batch of rotations, in order. */
  async errors(specs: readonly (RotationSpec | CompiledRotation)[]): Promise<Float64Array> {
    const out = new Float64Array(specs.length);
    const compiled = compileCandidates(specs, this.dim);
    for (let start = 0; start < compiled.length; start += this.maxBatch) {
      const chunk = compiled.slice(start, start + this.maxBatch);
      const errs = this.target === 'w4a4' ? await this.gemmErrors(chunk) : await this.activationErrors(chunk);
      out.set(errs, start);
    }
    this.evaluations += compiled.length;
    return out;
  }

  private async activationErrors(chunk: readonly CompiledRotation[]): Promise<Float64Array> {
    const B = chunk.length;
    const { tokens: T, dim } = this;
    const qmax = (1 << (TARGET_BITS[this.target] - 1)) - 1;
    const rot = this.kernel('rotX', rotateBatchKernel, B * T * dim, dim, true);
    const xr = await rot(this.x.data, this.denseRotations(chunk), T, dim);
    const err = this.kernel('rowError', rowErrorKernel, 2 * B * T, dim, false);
    const sums = await readArray(await err(xr, dim, qmax));
    const out = new Float64Array(B);
    for (let c = 0; c < B; c++) {
      let sse = 0;
      let sig = 0;
      for (let t = 0; t < T; t++) {
        sse += sums[2 * (c * T + t)]!;
        sig += sums[2 * (c * T + t) + 1]!;
      }
      out[c] = sig === 0 ? 0 : sse / sig;
    }
    return out;
  }

  private async gemmErrors(chunk: readonly CompiledRotation[]): Promise<Float64Array> {
    const B = chunk.length;
    const { tokens: T, dim } = this;
    const w = this.w!;
    const O = w.rows;
    const qmax = 7;
    const r = this.denseRotations(chunk);
    const xr = await this.kernel('rotX', rotateBatchKernel, B * T * dim, dim, true)(this.x.data, r, T, dim);
    const wr = await this.kernel('rotW', rotateBatchKernel, B * O * dim, dim, true)(w.data, r, O, dim);
    const xs = await this.kernel('scaleX', rowScaleKernel, B * T, dim, true)(xr, dim, qmax);
    const ws = await this.kernel('scaleW', rowScaleKernel, B * O, dim, true)(wr, dim, qmax);
    const xq = await this.kernel('quantX', fakeQuantRowKernel, B * T * dim, 1, true)(xr, xs, dim, qmax);
    const wq = await this.kernel('quantW', fakeQuantRowKernel, B * O * dim, 1, true)(wr, ws, dim, qmax);
    const nb = Math.ceil(O / OUTPUTS_PER_THREAD);
    const ge = this.kernel(
      'gemmError',
      gemmErrorKernel,
      B * T * nb,
      Math.max(dim, OUTPUTS_PER_THREAD),
      false,
    );
    const parts = await readArray(await ge(xq, wq, this.y!, T, O, dim, OUTPUTS_PER_THREAD));
    const out = new Float64Array(B);
    for (let c = 0; c < B; c++) {
      let sse = 0;
      for (let i = c * T * nb; i < (c + 1) * T * nb; i++) sse += parts[i]!;
      out[c] = this.ySignal === 0 ? 0 : sse / this.ySignal;
    }
    return out;
  }

  /** Frees the compiled kernels (GPU buffers / modules). */
  destroy(): void {
    for (const k of this.kernels.values()) (k as { destroy?: () => void }).destroy?.();
    this.kernels.clear();
  }
}

/** A kernel result as a Float32Array (a pipeline handle is read back; arrays are copied only if needed). */
async function readArray(v: unknown): Promise<Float32Array> {
  const a =
    v && typeof (v as { toArray?: unknown }).toArray === 'function'
      ? await (v as { toArray(): unknown }).toArray()
      : v;
  return a instanceof Float32Array ? a : Float32Array.from(a as ArrayLike<number>);
}
