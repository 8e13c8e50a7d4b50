import type { Matrix } from '@nq/core';
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
import type { KernelOps } from '../studies/kernel-study.js';
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
