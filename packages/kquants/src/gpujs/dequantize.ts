import { NqInputError, NqUnsupportedError } from '@nq/core';
import { type GpuJsMode, getGpuJs } from '@nq/core/gpujs';
import { byteSize, type KnownFormat, supportedFormatOf } from '../formats.js';
import { halfValue, q4_kKernel, q6_kKernel, q8_0Kernel } from './kernels.js';

// biome-ignore lint/suspicious/noExplicitAny: gpu.js kernels are untyped
const KERNELS: Partial<Record<KnownFormat, (this: any, b: number[]) => number>> = {
  Q8_0: q8_0Kernel,
  Q4_K: q4_kKernel,
  Q6_K: q6_kKernel,
};

/** Formats with a gpu.js dequantization kernel. */
export const GPUJS_DEQUANT_FORMATS = Object.keys(KERNELS) as KnownFormat[];

const prepared = new WeakSet<object>();
// biome-ignore lint/suspicious/noExplicitAny: gpu.js kernels are untyped
const kernels = new WeakMap<object, Map<string, any>>();

/**
 * Dequantizes n weights of `type` (Q8_0, Q4_K, Q6_K) with gpu.js in `mode` (default 'webasm').
 * Same values as the CPU reference (bit-identical in the modes tested).
 */
export async function dequantizeGpuJs(
  type: KnownFormat,
  bytes: Uint8Array,
  n: number,
  mode: GpuJsMode = 'webasm',
): Promise<Float32Array> {
  const f = supportedFormatOf(type);
  const fn = KERNELS[f.name as KnownFormat];
  if (!fn)
    throw new NqUnsupportedError(
      `gpu.js dequantization of ${f.name}`,
      `Supported: ${GPUJS_DEQUANT_FORMATS.join(', ')}`,
    );
  const need = byteSize(f.name, n);
  if (bytes.length < need)
    throw new NqInputError(
      'bytes',
      `holds ${bytes.length} bytes, ${n} ${f.name} weights need ${need}`,
      'Pass the whole tensor',
    );
  if (n >= 2 ** 24)
    throw new NqInputError(
      'n',
      `${n} weights; gpu.js indexes in float32`,
      'Dequantize in chunks of fewer than 2^24 weights',
    );
  if (n === 0) return new Float32Array(0);
  const { gpu } = await getGpuJs(mode);
  if (!prepared.has(gpu)) {
    gpu.addFunction(halfValue);
    prepared.add(gpu);
  }
  let m = kernels.get(gpu);
  if (!m) {
    m = new Map();
    kernels.set(gpu, m);
  }
  const key = `${f.name}:${n}`;
  let k = m.get(key);
  if (!k) {
    k = gpu.createKernel(fn, {
      output: [n],
      dynamicArguments: true,
      tactic: 'precision',
      precision: 'single',
      loopMaxIterations: 32,
    });
    m.set(key, k);
  }
  const out = await k(Float32Array.from(bytes.subarray(0, need)));
  return out instanceof Float32Array ? out : Float32Array.from(out as ArrayLike<number>);
}
