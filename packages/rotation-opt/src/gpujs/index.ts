// @nq/rotation-opt/gpujs — the GEMM step (X·R, X·E for block-diagonal E) on gpu.js.
import { NqInputError } from '@nq/core';
import { type GpuJsMode, getGpuJs } from '@nq/core/gpujs';
import { blockGemmKernel } from './kernels.js';

/*
 * gpu.js backend, GEMM only: Y = X·B for a block-diagonal B (n/b blocks of b × b; b = n for a
 * dense rotation), float32, in row batches whose flat size stays below 2^24 (gpu.js indexes in
 * float32). The rest of DFRot/AdaCodec (quantization, cross products, SVD) is on cpu or webgpu.
 */

// biome-ignore lint/suspicious/noExplicitAny: gpu.js objects are untyped
const kernels = new WeakMap<object, Map<string, any>>();
const MAX_ELEMENTS = 2 ** 24;

export async function blockGemmGpuJs(
  x: Float32Array,
  rows: number,
  n: number,
  blocks: ArrayLike<number>,
  block: number,
  mode: GpuJsMode = 'webasm',
): Promise<Float32Array> {
  if (x.length !== rows * n || rows < 1)
    throw new NqInputError(
      'x',
      `has ${x.length} entries, expected rows·n = ${rows * n}`,
      'Pass a row-major rows × n array.',
    );
  if (!Number.isInteger(block) || block < 1 || n % block !== 0)
    throw new NqInputError(
      'block',
      `is ${block}; it must divide n = ${n}`,
      'Use a block size that divides n (n for a dense matrix).',
    );
  if (blocks.length !== n * block)
    throw new NqInputError(
      'blocks',
      `has ${blocks.length} entries`,
      `Pass the n/b blocks of b × b: n·b = ${n * block} values.`,
    );
  if (n * block >= MAX_ELEMENTS || n >= MAX_ELEMENTS)
    throw new NqInputError(
      'n',
      `is ${n}: too large for gpu.js's float32 indexing`,
      'Use the cpu or webgpu backend.',
    );
  const { gpu } = await getGpuJs(mode);
  let m = kernels.get(gpu);
  if (!m) {
    m = new Map();
    kernels.set(gpu, m);
  }
  const per = Math.max(1, Math.floor((MAX_ELEMENTS - 1) / n));
  const b32 = blocks instanceof Float32Array ? blocks : Float32Array.from(blocks);
  const out = new Float32Array(rows * n);
  for (let t0 = 0; t0 < rows; t0 += per) {
    const T = Math.min(per, rows - t0);
    const key = `bg:${n}:${block}:${T}`;
    let k = m.get(key);
    if (!k) {
      k = gpu.createKernel(blockGemmKernel, {
        output: [T * n],
        loopMaxIterations: block,
        dynamicArguments: true,
        tactic: 'precision',
        precision: 'single',
      });
      m.set(key, k);
    }
    const y = await k(x.subarray(t0 * n, (t0 + T) * n), b32, n, block);
    out.set(y as Float32Array, t0 * n);
  }
  return out;
}
