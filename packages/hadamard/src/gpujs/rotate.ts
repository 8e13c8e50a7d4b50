import { assertFinite, assertMatrix, type Matrix, NqInputError } from '@nq/core';
import { type GpuJsMode, getGpuJs, kernelBackend } from '@nq/core/gpujs';
import { asCompiled, type RotationLike } from '../cpu/rotate.js';
import { butterflyKernel, mixKernel, multiplySignsKernel, orthogonalKernel, scaleKernel } from './kernels.js';

/**
 * The same rotations as gpu.js kernels — correctness over speed: a Hadamard stage is log2(p)
 * radix-2 butterfly kernels (plus a signs·scale kernel and, for Kronecker blocks, a mix kernel); an
 * orthogonal stage is one block-matmul kernel. Every kernel returns its output to JavaScript (gpu.js
 * webgpu mode reads back asynchronously), so this backend moves far more data than the raw WebGPU one.
 */
export const GPUJS_DEFAULT_MODE: GpuJsMode = 'webgpu';

export interface GpuJsRotateOptions {
  inverse?: boolean;
  /** gpu.js mode (default 'webgpu'; 'webasm' and 'cpu' work everywhere). */
  mode?: GpuJsMode;
}

// biome-ignore lint/suspicious/noExplicitAny: gpu.js kernels are untyped
type Kernel = (...args: any[]) => unknown;
const kernelCache = new Map<string, Kernel>();

async function kernel(
  mode: GpuJsMode,
  name: string,
  fn: unknown,
  length: number,
  constants: Record<string, number>,
): Promise<Kernel> {
  const key = `${mode}|${name}|${length}|${JSON.stringify(constants)}`;
  let k = kernelCache.get(key);
  if (!k) {
    const { gpu } = await getGpuJs(mode);
    k = gpu.createKernel(fn, { output: [length], constants, tactic: 'precision' }) as Kernel;
    kernelCache.set(key, k);
  }
  return k;
}

async function run(k: Kernel, ...args: unknown[]): Promise<Float32Array> {
  const y = (await k(...args)) as Float32Array | number[];
  return y instanceof Float32Array ? y : Float32Array.from(y);
}

/** x ↦ x·R (x·Rᵀ with inverse) with gpu.js kernels. */
export async function rotateGpuJs(
  x: Matrix,
  spec: RotationLike,
  options: GpuJsRotateOptions = {},
): Promise<Matrix> {
  const rot = asCompiled(spec);
  assertMatrix(x, 'x');
  if (x.cols !== rot.dim)
    throw new NqInputError(
      'x',
      `has ${x.cols} columns but the rotation has dim ${rot.dim}`,
      'Rotate matrices whose rows have dim channels.',
    );
  assertFinite(x, 'x');
  const mode = options.mode ?? GPUJS_DEFAULT_MODE;
  const inverse = options.inverse === true;
  const total = x.rows * x.cols;
  if (total === 0) return { rows: x.rows, cols: x.cols, data: new Float32Array(0) };
  let d: Float32Array = x.data.slice();
  const stages = inverse ? [...rot.stages].reverse() : rot.stages;
  for (const st of stages) {
    if (st.kind === 'orthogonal') {
      const k = await kernel(mode, 'orthogonal', orthogonalKernel, total, {
        dim: rot.dim,
        b: st.block,
        inverse: inverse ? 1 : 0,
      });
      d = await run(k, d, st.matrices!);
      continue;
    }
    const multiply = async () => {
      if (st.signs)
        d = await run(
          await kernel(mode, 'signs', multiplySignsKernel, total, { dim: rot.dim, scale: st.scale }),
          d,
          st.signs,
        );
      else if (st.scale !== 1)
        d = await run(await kernel(mode, 'scale', scaleKernel, total, { scale: st.scale }), d);
    };
    const mix = async () => {
      if (st.m > 1)
        d = await run(
          await kernel(mode, 'mix', mixKernel, total, { m: st.m, p: st.p, transposed: inverse ? 1 : 0 }),
          d,
          st.hm!,
        );
    };
    if (!inverse) await multiply();
    else await mix();
    for (let h = 1; h < st.p; h *= 2)
      d = await run(await kernel(mode, 'butterfly', butterflyKernel, total, { h }), d);
    if (!inverse) await mix();
    else await multiply();
  }
  return { rows: x.rows, cols: x.cols, data: d };
}

/** Where each cached kernel of `mode` really ran (gpu.js can silently fall back to its cpu kernel). */
export function gpuJsKernelBackends(mode: GpuJsMode): string[] {
  return [...kernelCache.entries()]
    .filter(([k]) => k.startsWith(`${mode}|`))
    .map(([, k]) => kernelBackend(k));
}

/** Frees every cached gpu.js kernel (they hold GPU buffers / compiled modules). */
export function releaseGpuJsKernels(): void {
  for (const k of kernelCache.values()) (k as { destroy?: () => void }).destroy?.();
  kernelCache.clear();
}
