import { assertMatrix, type Matrix, NqInputError } from '@nq/core';
import { type GpuJsMode, getGpuJs } from '@nq/core/gpujs';
import { checkLayerInput, type Hessian, hessianFromUpperSums, requireSamples } from '../cpu/hessian.js';
import { xtxKernel } from './kernels.js';

/*
 * gpu.js backend: the Hessian accumulation. Each batch's XᵀX is one gpu.js kernel (float32, one
 * output per H element); the batch results are summed on the host in float64, so precision does not
 * drift with the number of batches. The GPTQ column loop itself runs on the cpu or webgpu backends.
 */

// biome-ignore lint/suspicious/noExplicitAny: gpu.js objects are untyped
const kernels = new WeakMap<object, Map<string, any>>();

/** gpu.js indexes in float32: keep every flat index below 2^24. */
const MAX_ELEMENTS = 2 ** 24;

export class HessianAccumulatorGpuJs {
  samples = 0;
  readonly sum: Float64Array;
  private constructor(
    readonly n: number,
    // biome-ignore lint/suspicious/noExplicitAny: gpu.js objects are untyped
    private readonly gpu: any,
    readonly mode: string,
  ) {
    this.sum = new Float64Array(n * n);
  }

  /** An accumulator on gpu.js in `mode` ('webasm' by default; 'webgpu', 'headlessgl', 'cpu'). */
  static async create(n: number, mode: GpuJsMode = 'webasm'): Promise<HessianAccumulatorGpuJs> {
    if (!Number.isInteger(n) || n < 1)
      throw new NqInputError(
        'n',
        `must be a positive integer (the layer's input size), got ${n}`,
        'Pass the number of input columns.',
      );
    if (n * n >= MAX_ELEMENTS)
      throw new NqInputError(
        'n',
        `is ${n}: n² = ${n * n} outputs exceed gpu.js's float32 indexing (2^24)`,
        'Use the cpu or webgpu backend for layers wider than 4095.',
      );
    const ctx = await getGpuJs(mode);
    return new HessianAccumulatorGpuJs(n, ctx.gpu, ctx.mode);
  }

  private kernel(T: number) {
    let m = kernels.get(this.gpu);
    if (!m) {
      m = new Map();
      kernels.set(this.gpu, m);
    }
    const key = `xtx:${this.n}:${T}`;
    let k = m.get(key);
    if (!k) {
      k = this.gpu.createKernel(xtxKernel, {
        output: [this.n * this.n],
        loopMaxIterations: Math.max(1, T),
        dynamicArguments: true,
        tactic: 'precision',
        precision: 'single',
      });
      m.set(key, k);
    }
    return k;
  }

  /** Adds the rows of X (tokens × n) in batches whose flat size stays below 2^24. */
  async add(x: Matrix, name = 'x'): Promise<this> {
    const n = this.n;
    checkLayerInput(x, n, name);
    const per = Math.max(1, Math.min(256, Math.floor((MAX_ELEMENTS - 1) / n)));
    for (let t0 = 0; t0 < x.rows; t0 += per) {
      const T = Math.min(per, x.rows - t0);
      const out = await this.kernel(T)(x.data.subarray(t0 * n, (t0 + T) * n), n, T);
      const s = this.sum;
      for (let i = 0; i < n; i++) for (let j = i; j < n; j++) s[i * n + j] += out[i * n + j];
    }
    this.samples += x.rows;
    return this;
  }

  finalize(): Hessian {
    requireSamples('HessianAccumulatorGpuJs', this.samples);
    return hessianFromUpperSums(this.n, this.sum, this.samples);
  }
}

/** H = 2·XᵀX/N of one matrix on gpu.js. */
export async function hessianOfGpuJs(x: Matrix, mode: GpuJsMode = 'webasm', name = 'x'): Promise<Hessian> {
  assertMatrix(x, name);
  const acc = await HessianAccumulatorGpuJs.create(x.cols, mode);
  await acc.add(x, name);
  return acc.finalize();
}
