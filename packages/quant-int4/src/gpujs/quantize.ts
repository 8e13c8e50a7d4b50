import {
  assertFinite,
  assertMatrix,
  assertNonEmpty,
  type Matrix,
  NqInputError,
  NqUnsupportedError,
} from '@nq/core';
import { type GpuJsMode, getGpuJs } from '@nq/core/gpujs';
import { type ScaleLayout, scaleLayout } from '../layout.js';
import { type QuantSpec, type ResolvedQuantSpec, resolveSpec } from '../spec.js';
import { intApplyKernel, intParamsKernel } from './int-kernels.js';

// Kernels are compiled once per (gpu.js instance, kernel, output size) and reused.
// biome-ignore lint/suspicious/noExplicitAny: gpu.js kernels are untyped
const kernelCache = new WeakMap<object, Map<string, any>>();

// biome-ignore lint/suspicious/noExplicitAny: gpu.js instances and kernels are untyped
type GpuJsObject = any;

export function cachedKernel(
  gpu: GpuJsObject,
  name: string,
  fn: (...a: GpuJsObject[]) => number,
  size: number,
  loopMax: number,
): GpuJsObject {
  let m = kernelCache.get(gpu);
  if (!m) {
    m = new Map();
    kernelCache.set(gpu, m);
  }
  const key = `${name}:${size}:${loopMax}`;
  let k = m.get(key);
  if (!k) {
    k = gpu.createKernel(fn, {
      output: [size],
      loopMaxIterations: Math.max(1, loopMax),
      dynamicArguments: true,
      tactic: 'precision',
      precision: 'single',
    });
    m.set(key, k);
  }
  return k;
}

/** Runs a gpu.js kernel and returns its output as a Float32Array (webgpu mode returns a promise). */
// biome-ignore lint/suspicious/noExplicitAny: gpu.js objects are untyped
export async function runKernel(k: any, ...args: unknown[]): Promise<Float32Array> {
  const out = await k(...args);
  return out instanceof Float32Array ? out : Float32Array.from(out as ArrayLike<number>);
}

/**
 * The checks every gpu.js quantizer (INT here, FP in @nq/quant-fp) makes before compiling anything:
 * x a finite, non-empty Matrix of fewer than 2^24 elements (gpu.js indexes in float32), no clip
 * search (CPU/WebGPU only). Returns the scale layout of x under s.
 */
export function checkGpuJsInput(x: Matrix, s: ResolvedQuantSpec): ScaleLayout {
  assertMatrix(x, 'x');
  assertNonEmpty(x, 'x');
  if (s.clipSearch)
    throw new NqUnsupportedError('clipSearch on gpu.js', 'Clip search runs on the cpu and webgpu backends.');
  assertFinite(x, 'x');
  const layout = scaleLayout(x.rows, x.cols, s, 'x');
  const n = x.rows * x.cols;
  if (n >= 2 ** 24)
    throw new NqInputError(
      'x',
      `has ${n} elements; gpu.js indexes in float32`,
      'Split the matrix into chunks of fewer than 2^24 elements.',
    );
  return layout;
}

/**
 * INT fake-quant on gpu.js (mode 'webasm' by default; also 'webgpu', 'headlessgl', 'cpu'). Two
 * kernels: per-unit (scale, zero), then the elementwise quantize-dequantize. Clip search is CPU/WebGPU only.
 */
export async function fakeQuantIntGpuJs(
  x: Matrix,
  spec: QuantSpec | ResolvedQuantSpec,
  mode: GpuJsMode = 'webasm',
): Promise<Matrix> {
  assertMatrix(x, 'x');
  assertNonEmpty(x, 'x');
  const s = resolveSpec(spec);
  if (s.format !== 'int')
    throw new NqUnsupportedError(
      `format "${s.format}" in @nq/quant-int4/gpujs`,
      'Use @nq/quant-fp/gpujs for floating-point formats.',
    );
  const layout = checkGpuJsInput(x, s);
  const n = x.rows * x.cols;
  const { gpu } = await getGpuJs(mode);
  const channel = layout.span === 0 ? 1 : 0;
  const pk = cachedKernel(gpu, 'intParams', intParamsKernel, 2 * layout.units, Math.max(layout.span, x.rows));
  const params = await runKernel(
    pk,
    x.data,
    layout.span,
    x.cols,
    x.rows,
    channel,
    s.bits,
    s.symmetric ? 1 : 0,
    s.clipRatio,
  );
  const qmin = s.symmetric ? -(2 ** (s.bits - 1)) : 0;
  const qmax = s.symmetric ? 2 ** (s.bits - 1) - 1 : 2 ** s.bits - 1;
  const ak = cachedKernel(gpu, 'intApply', intApplyKernel, n, 1);
  const out = await runKernel(ak, x.data, params, Math.max(1, layout.span), x.cols, channel, qmin, qmax);
  return { rows: x.rows, cols: x.cols, data: out.length === n ? out : out.slice(0, n) };
}
