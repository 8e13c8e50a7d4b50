import { type Matrix, Rng } from '@nq/core';
import type { LayerWeights, LoadedModel } from '@nq/model';
import { type DenseRotation, randomBlockHadamard } from './rotation.js';

/*
 * QuaRot's fused form, as the quarot-w4a4 recipe defines it (written here because @nq/model's
 * transforms had not landed when this package was built; each step is function-preserving in exact
 * arithmetic, which test/recipes.test.ts checks on real weights):
 *  1. norm fusion: each RMSNorm scale is folded into the columns of the linears that read it
 *     (q/k/v ← W·diag(attnNorm), gate/up ← W·diag(ffnNorm), classifier ← W·diag(finalNorm)) and
 *     the norms become plain x/rms(x), which commutes with any orthogonal R;
 *  2. residual rotation R1 (random Hadamard of the model width): embeddings E·R1, every reader of
 *     the residual stream W·R1 (q, k, v, gate, up, classifier), every writer R1ᵀ·W (o, down);
 *  3. R4 (random Hadamard of the SwiGLU width) before down_proj: returned here, applied online by the
 *     recipe hooks to down's input and to down's weight (W·R4).
 */
export function quarotTransform(base: LoadedModel, seed: number): { model: LoadedModel; r4: DenseRotation; r1Label: string } {
  const c = base.config;
  const rng = new Rng(seed);
  const r1 = randomBlockHadamard(c.dim, c.dim, rng.fork('R1'));
  const r4 = randomBlockHadamard(c.hiddenDim, c.hiddenDim, rng.fork('R4'));
  const ones = new Float32Array(c.dim).fill(1);
  const w = base.weights;
  const layers: LayerWeights[] = w.layers.map((L) => ({
    attnNorm: ones,
    q: readResidual(L.q, L.attnNorm, r1),
    k: readResidual(L.k, L.attnNorm, r1),
    v: readResidual(L.v, L.attnNorm, r1),
    o: writeResidual(L.o, r1),
    ffnNorm: ones,
    gate: readResidual(L.gate, L.ffnNorm, r1),
    up: readResidual(L.up, L.ffnNorm, r1),
    down: writeResidual(L.down, r1),
  }));
  const model: LoadedModel = {
    ...base,
    weights: {
      tokenEmbedding: readResidual(w.tokenEmbedding, null, r1),
      layers,
      finalNorm: ones,
      output: readResidual(w.output, w.finalNorm, r1),
    },
    transforms: [...(base.transforms ?? []), 'fuseNorms', `rotateResidual:${r1.label}:seed${seed}`],
  };
  return { model, r4, r1Label: r1.label };
}

/** (W·diag(norm))·R1 for a reader W [out, dim]; norm null = no scale. */
function readResidual(w: Matrix, norm: Float32Array | null, r: DenseRotation): Matrix {
  const { rows, cols } = w;
  const y = new Float32Array(rows * cols);
  const row = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < cols; k++) row[k] = w.data[i * cols + k]! * (norm ? norm[k]! : 1);
    // y_i[j] = Σ_k row[k]·R[k][j] = Σ_k row[k]·rT[j][k]
    for (let j = 0; j < cols; j++) {
      let s = 0;
      const o = j * cols;
      for (let k = 0; k < cols; k++) s += row[k]! * r.rT[o + k]!;
      y[i * cols + j] = s;
    }
  }
  return { rows, cols, data: y };
}

/** R1ᵀ·W for a writer W [dim, in]: result[i][j] = Σ_k R[k][i]·W[k][j] = Σ_k rT[i][k]·W[k][j]. */
function writeResidual(w: Matrix, r: DenseRotation): Matrix {
  const { rows, cols } = w;
  const acc = new Float64Array(cols);
  const y = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    acc.fill(0);
    for (let k = 0; k < rows; k++) {
      const a = r.rT[i * rows + k]!;
      if (a === 0) continue;
      const o = k * cols;
      for (let j = 0; j < cols; j++) acc[j]! += a * w.data[o + j]!;
    }
    for (let j = 0; j < cols; j++) y[i * cols + j] = acc[j]!;
  }
  return { rows, cols, data: y };
}
