import { type Matrix, NqInputError } from '@nq/core';
import {
  blockHadamard,
  type CompiledRotation,
  compileRotation,
  type RotationSpec,
  randomHadamard,
  randomOrthogonal,
  rotate,
} from '@nq/hadamard';
import { fakeQuant } from '@nq/quant-fp';
import type { AsyncKernelOps, KernelOps } from '../studies/kernel-study.js';
import type { BackendTag } from '../sweep/cell.js';
import type { QuantDescriptor, RotationDescriptor } from './catalog.js';

/**
 * The bridge from sweep descriptors to the technique packages (CPU reference backends):
 *
 *   rotation none        → identity (no work)
 *   rotation had         → @nq/hadamard randomHadamard(channels, seed)        R = D·H/√n
 *   rotation bhad<b>     → @nq/hadamard blockHadamard(channels, b, seed)      one sign vector, b×b blocks
 *   rotation ro          → @nq/hadamard randomOrthogonal(channels, seed)      Haar (QR of Rng normals)
 *   every quantizer      → @nq/quant-fp fakeQuant(x, QuantSpec)               int via @nq/quant-int4
 *
 * The rotation's RotationSpec is not stored in rows (a random orthogonal one holds n² numbers); the
 * descriptor plus the builder name and the seed regenerate it exactly (`ROTATION_BUILDERS`, part of
 * the cell spec so a change of builder is a new cell).
 */
export const ROTATION_BUILDERS: Record<RotationDescriptor['kind'], string> = {
  none: 'identity',
  hadamard: '@nq/hadamard randomHadamard(dim, seed)',
  'block-hadamard': '@nq/hadamard blockHadamard(dim, block, seed)',
  'random-orthogonal': '@nq/hadamard randomOrthogonal(dim, seed)',
};

export type CpuOps = KernelOps & {
  unavailable(r: RotationDescriptor | null, q: QuantDescriptor | null): string | null;
};

/** The RotationSpec a descriptor stands for at this size and seed (null for none). */
export function rotationSpecFor(d: RotationDescriptor, dim: number, seed: number): RotationSpec | null {
  switch (d.kind) {
    case 'none':
      return null;
    case 'hadamard':
      return randomHadamard(dim, seed);
    case 'block-hadamard':
      return blockHadamard(dim, d.block, seed);
    case 'random-orthogonal':
      return randomOrthogonal(dim, seed);
  }
}

export function cpuOps(): CpuOps {
  // Building a rotation (n³ for a random orthogonal one) is deterministic in (descriptor, n, seed):
  // caching it per process changes no number, only the time.
  const cache = new Map<string, CompiledRotation | null>();
  const compiled = (d: RotationDescriptor, n: number, seed: number): CompiledRotation | null => {
    const key = `${JSON.stringify(d)}:${n}:${seed}`;
    if (!cache.has(key)) {
      const spec = rotationSpecFor(d, n, seed);
      cache.set(key, spec ? compileRotation(spec) : null);
    }
    return cache.get(key)!;
  };
  return {
    backend: 'cpu',
    implementations: { rotation: '@nq/hadamard rotate (cpu)', quant: '@nq/quant-fp fakeQuant (cpu)' },
    rotate(x: Matrix, d: RotationDescriptor, seed: number): Matrix {
      const r = compiled(d, x.cols, seed);
      return r ? rotate(x, r) : x;
    },
    quantize(x: Matrix, spec: QuantDescriptor): Matrix {
      return fakeQuant(x, spec, 'x');
    },
    unavailable() {
      return null;
    },
  };
}

/** Backends a kernel / layer cell can run its rotation and quantizers on (`nq sweep --backend`). */
export const BACKENDS = ['cpu', 'webgpu', 'gpujs'] as const;
export type BackendName = (typeof BACKENDS)[number];
export const GPUJS_MODES_FOR_SWEEPS = ['webgpu', 'webasm', 'cpu'] as const;

/**
 * The WebGPU backend: @nq/hadamard/webgpu `rotateWebGPU` (the rotation's constants uploaded once per
 * (descriptor, size, seed)) and @nq/quant-fp/webgpu `fakeQuantWebGPU` (every format; INT through
 * @nq/quant-int4's kernels). Each op uploads its input and reads its output back: the metrics are
 * float64 sums on the CPU, and X·R is shared by every quantizer of a rotation.
 * No CPU fallback: when no WebGPU adapter can be had this throws @nq/core's NqBackendError.
 */
export async function webgpuOps(): Promise<AsyncKernelOps & { tag: BackendTag }> {
  const { getWebGPUDevice } = await import('@nq/core/webgpu');
  const ctx = await getWebGPUDevice();
  const { prepareRotationWebGPU, rotateWebGPU } = await import('@nq/hadamard/webgpu');
  const { fakeQuantWebGPU } = await import('@nq/quant-fp/webgpu');
  type Prepared = Awaited<ReturnType<typeof prepareRotationWebGPU>>;
  const prepared = new Map<string, Promise<Prepared | null>>();
  const adapter = adapterLabel(ctx.adapterName, ctx.kind);
  return {
    backend: 'webgpu',
    adapter,
    tag: { name: 'webgpu', adapter },
    implementations: {
      rotation: '@nq/hadamard rotateWebGPU (webgpu)',
      quant: '@nq/quant-fp fakeQuantWebGPU (webgpu)',
    },
    async rotate(x: Matrix, d: RotationDescriptor, seed: number): Promise<Matrix> {
      const key = `${JSON.stringify(d)}:${x.cols}:${seed}`;
      if (!prepared.has(key)) {
        const spec = rotationSpecFor(d, x.cols, seed);
        prepared.set(key, spec ? prepareRotationWebGPU(spec) : Promise.resolve(null));
      }
      const r = await prepared.get(key)!;
      return r ? rotateWebGPU(x, r) : x;
    },
    quantize(x: Matrix, spec: QuantDescriptor): Promise<Matrix> {
      return fakeQuantWebGPU(x, spec);
    },
  };
}

/**
 * The gpu.js backend in one of its modes (default 'webgpu', i.e. WGSL through gpu.js on nq's WebGPU
 * device): @nq/hadamard/gpujs `rotateGpuJs` and @nq/quant-fp/gpujs `fakeQuantGpuJs`. Throws
 * NqBackendError when gpu.js (or, for mode webgpu, a WebGPU adapter) is not available.
 */
export async function gpujsOps(
  mode: (typeof GPUJS_MODES_FOR_SWEEPS)[number] = 'webgpu',
): Promise<AsyncKernelOps & { tag: BackendTag }> {
  if (!(GPUJS_MODES_FOR_SWEEPS as readonly string[]).includes(mode))
    throw new NqInputError(
      '--gpujs-mode',
      `is ${JSON.stringify(mode)}`,
      `Use one of ${GPUJS_MODES_FOR_SWEEPS.join(', ')}.`,
    );
  const { getGpuJs } = await import('@nq/core/gpujs');
  const ctx = await getGpuJs(mode);
  const { rotateGpuJs } = await import('@nq/hadamard/gpujs');
  const { fakeQuantGpuJs } = await import('@nq/quant-fp/gpujs');
  const cache = new Map<string, CompiledRotation | null>();
  const adapter = `gpu.js ${ctx.mode}${ctx.adapterName ? ` on ${ctx.adapterName}` : ''}`;
  return {
    backend: 'gpujs',
    adapter,
    tag: { name: 'gpujs', adapter, mode },
    implementations: {
      rotation: `@nq/hadamard rotateGpuJs (gpu.js ${mode})`,
      quant: `@nq/quant-fp fakeQuantGpuJs (gpu.js ${mode})`,
    },
    async rotate(x: Matrix, d: RotationDescriptor, seed: number): Promise<Matrix> {
      const key = `${JSON.stringify(d)}:${x.cols}:${seed}`;
      if (!cache.has(key)) {
        const spec = rotationSpecFor(d, x.cols, seed);
        cache.set(key, spec ? compileRotation(spec) : null);
      }
      const r = cache.get(key)!;
      return r ? rotateGpuJs(x, r, { mode }) : x;
    },
    quantize(x: Matrix, spec: QuantDescriptor): Promise<Matrix> {
      return fakeQuantGpuJs(x, spec, mode);
    },
  };
}

/** The ops of a backend tag (what a stored GPU cell names), checked against the adapter found now. */
export async function opsFor(tag: BackendTag | undefined): Promise<AsyncKernelOps> {
  if (!tag) return cpuOps();
  if (tag.name === 'webgpu') return webgpuOps();
  if (tag.name === 'gpujs')
    return gpujsOps((tag.mode ?? 'webgpu') as (typeof GPUJS_MODES_FOR_SWEEPS)[number]);
  throw new NqInputError('backend', `is ${JSON.stringify(tag)}`, `Use one of ${BACKENDS.join(', ')}.`);
}

function adapterLabel(name: string, kind: string): string {
  return kind === 'cpu-fallback' ? `${name} (CPU fallback adapter)` : name;
}
