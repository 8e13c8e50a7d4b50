import { type Matrix, Rng } from '@nq/core';
import {
  fuseNorms,
  type LoadedModel,
  type OrthogonalOperator,
  onlineRotateDown,
  rotateResidual,
} from '@nq/model';
import { fastGemm } from './gemm.js';
import { type DenseRotation, randomBlockHadamard } from './rotation.js';

/** A dense rotation as @nq/model's OrthogonalOperator (m ↦ m·R). */
export function asOperator(r: DenseRotation): OrthogonalOperator {
  return {
    dim: r.n,
    label: r.label,
    applyRight(m: Matrix): Matrix {
      const y = new Float32Array(m.rows * r.n);
      fastGemm()(m.data, m.rows, m.cols, r.rT, r.n, y);
      return { rows: m.rows, cols: r.n, data: y };
    },
  };
}

/**
 * QuaRot's fused form, as the quarot-w4a4 recipe defines it, with @nq/model's function-preserving
 * transforms: RMSNorm scales fused into the next linears (fuseNorms); a random Hadamard R1 of the
 * model width on the residual stream fused into embeddings, readers (W·R1) and writers (R1ᵀ·W)
 * (rotateResidual); a random Hadamard R4 of the SwiGLU width applied online to down_proj's input,
 * with down's weight W·R4 (onlineRotateDown). R1 and R4 come from Rng(seed).fork('R1' / 'R4').
 */
export function quarotTransform(base: LoadedModel, seed: number): { model: LoadedModel; labels: string[] } {
  const c = base.config;
  const rng = new Rng(seed);
  const r1 = randomBlockHadamard(c.dim, c.dim, rng.fork('R1'));
  const r4 = randomBlockHadamard(c.hiddenDim, c.hiddenDim, rng.fork('R4'));
  const model = onlineRotateDown(rotateResidual(fuseNorms(base), asOperator(r1)), asOperator(r4));
  return {
    model,
    labels: [`R1 ${r1.label} (seed ${seed}) fused`, `R4 ${r4.label} (seed ${seed}) online before down`],
  };
}
