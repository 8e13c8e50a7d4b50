import { type Matrix, NqUnsupportedError } from '@nq/core';
import { randomOrthogonal, type OrthogonalOperator } from '@nq/model';
import { fakeQuantInt } from '@nq/quant-int4/cpu';
import type { KernelOps } from '../studies/kernel-study.js';
import type { QuantDescriptor, RotationDescriptor } from './catalog.js';

/**
 * The bridge from sweep descriptors to the technique packages (CPU backends). Techniques whose
 * package has not landed yet are reported by `unavailable()` so the grid leaves their cells out with
 * a note instead of failing mid-sweep; nothing here re-implements a technique.
 *
 *   rotation none                   → identity
 *   rotation ro                     → @nq/model randomOrthogonal(n, seed) (Haar, Gram–Schmidt on Rng normals)
 *   rotation had / bhad<b>          → @nq/hadamard (not in the workspace yet)
 *   quant int (token/tensor/group)  → @nq/quant-int4 fakeQuantInt
 *   quant nvfp4 / mxfp4             → @nq/quant-fp (not exported yet)
 */
export type CpuOps = KernelOps & { unavailable(r: RotationDescriptor | null, q: QuantDescriptor | null): string | null };

export function cpuOps(): CpuOps {
  // Building a dense n×n rotation is O(n³); the same (kind, n, seed) always gives the same matrix, so
  // caching it per process changes no number, only the time.
  const cache = new Map<string, OrthogonalOperator>();
  const rotation = (spec: RotationDescriptor, n: number, seed: number): OrthogonalOperator | null => {
    if (spec.kind === 'none') return null;
    const key = `${JSON.stringify(spec)}:${n}:${seed}`;
    let op = cache.get(key);
    if (!op) {
      if (spec.kind === 'random-orthogonal') op = randomOrthogonal(n, seed);
      else throw new NqUnsupportedError(`rotation ${spec.kind}`, 'Hadamard rotations need @nq/hadamard, which is not in this workspace yet.');
      cache.set(key, op);
    }
    return op;
  };
  return {
    backend: 'cpu',
    implementations: { rotation: '@nq/model randomOrthogonal', int: '@nq/quant-int4/cpu fakeQuantInt' },
    rotate(x: Matrix, spec: RotationDescriptor, seed: number): Matrix {
      const op = rotation(spec, x.cols, seed);
      return op ? op.applyRight(x) : x;
    },
    quantize(x: Matrix, spec: QuantDescriptor): Matrix {
      if (spec.format === 'int') return fakeQuantInt(x, spec, 'activation');
      throw new NqUnsupportedError(`quantizer ${spec.format}`, 'NVFP4/MXFP4 need @nq/quant-fp, which does not export its API yet.');
    },
    unavailable(r, q) {
      if (r && (r.kind === 'hadamard' || r.kind === 'block-hadamard')) return `rotation ${r.kind}: @nq/hadamard not available yet`;
      if (q && q.format !== 'int') return `quantizer ${q.format}: @nq/quant-fp not available yet`;
      return null;
    },
  };
}
