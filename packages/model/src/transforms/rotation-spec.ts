import { compileRotation, type RotationSpec, rotate } from '@nq/hadamard';
import type { OrthogonalOperator } from '../types.js';

/**
 * Wraps an @nq/hadamard `RotationSpec` (FWHT, block / Kronecker Hadamard such as 768 = 12⊗64,
 * random orthogonal blocks, cascades) as the `OrthogonalOperator` the transforms and the online
 * rotation in `forward` use: applyRight(m) = m·R via @nq/hadamard's fast CPU kernels. The spec is
 * validated once, here.
 */
export function rotationOperator(spec: RotationSpec, label?: string): OrthogonalOperator {
  const compiled = compileRotation(spec, 'spec');
  const stages = spec.stages
    .map((s) => `${s.kind}${s.block}${s.kind === 'hadamard' && s.signs ? 's' : ''}`)
    .join('·');
  return {
    dim: spec.dim,
    label: label ?? `rotation-${spec.dim}[${stages}]`,
    applyRight: (m) => rotate(m, compiled),
  };
}

/** Accepts either form: an operator as is, a RotationSpec wrapped by `rotationOperator`. */
export function asOperator(r: OrthogonalOperator | RotationSpec): OrthogonalOperator {
  return typeof (r as OrthogonalOperator).applyRight === 'function'
    ? (r as OrthogonalOperator)
    : rotationOperator(r as RotationSpec);
}
