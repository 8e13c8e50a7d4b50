import { type Matrix, NqUnsupportedError } from '@nq/core';
import { fakeQuantInt } from '@nq/quant-int4/cpu';
import type { KernelOps } from '../studies/kernel-study.js';
import type { QuantDescriptor, RotationDescriptor } from './catalog.js';

/**
 * The bridge from sweep descriptors to the technique packages (CPU backends). Techniques whose
 * package has not landed yet are reported by `unavailable()` so the grid can leave their cells out
 * with a note instead of failing mid-sweep; nothing here re-implements a technique.
 *
 *   rotation none                 → identity
 *   rotation had/bhad<b>/ro       → @nq/hadamard (not in the workspace yet)
 *   quant int (token/tensor/group) → @nq/quant-int4 fakeQuantInt
 *   quant nvfp4/mxfp4             → @nq/quant-fp (not exported yet)
 */
export function cpuOps(): KernelOps & { unavailable(r: RotationDescriptor | null, q: QuantDescriptor | null): string | null } {
  return {
    backend: 'cpu',
    implementations: { rotation: 'identity only', int: '@nq/quant-int4/cpu fakeQuantInt' },
    rotate(x: Matrix, spec: RotationDescriptor): Matrix {
      if (spec.kind === 'none') return x;
      throw new NqUnsupportedError(`rotation ${spec.kind}`, 'Rotations other than none need @nq/hadamard, which is not in this workspace yet.');
    },
    quantize(x: Matrix, spec: QuantDescriptor): Matrix {
      if (spec.format === 'int') return fakeQuantInt(x, spec, 'activation');
      throw new NqUnsupportedError(`quantizer ${spec.format}`, 'NVFP4/MXFP4 need @nq/quant-fp, which does not export its API yet.');
    },
    unavailable(r, q) {
      if (r && r.kind !== 'none') return `rotation ${r.kind}: @nq/hadamard not available yet`;
      if (q && q.format !== 'int') return `quantizer ${q.format}: @nq/quant-fp not available yet`;
      return null;
    },
  };
}
