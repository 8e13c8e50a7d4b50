import { NqInputError, NqUnsupportedError } from '@nq/core';
import { blockHadamard, type RotationSpec } from '@nq/hadamard';
import type { LoadedModel, OrthogonalOperator } from '../types.js';
import { asOperator, rotationOperator } from './rotation-spec.js';
import { cloneModel, rotateInput, rotateOutput, scaleColumns } from './weights.js';

// Transforms that keep the model's full-precision function: each returns a NEW model whose logits
// equal the input model's (to float32 rounding), so that quantization afterwards sees easier
// weights/activations. None of them modifies its argument.

function ones(n: number): Float32Array {
  return new Float32Array(n).fill(1);
}

function allOnes(v: Float32Array): boolean {
  for (let i = 0; i < v.length; i++) if (v[i] !== 1) return false;
  return true;
}

/** True when every RMSNorm scale is exactly 1 (after `fuseNorms`). */
export function normsAreFused(m: LoadedModel): boolean {
  return (
    allOnes(m.weights.finalNorm) && m.weights.layers.every((l) => allOnes(l.attnNorm) && allOnes(l.ffnNorm))
  );
}

/**
 * Folds each RMSNorm scale g into the linears that read the normed activations:
 * attnNorm → q, k, v; ffnNorm → gate, up; finalNorm → classifier (W' = W·diag(g)); the norms become 1.
 * Needed before rotating the residual stream (RMSNorm with a non-uniform scale does not commute
 * with a rotation; with unit scale it does).
 */
export function fuseNorms(model: LoadedModel): LoadedModel {
  const m = cloneModel(model);
  const w = m.weights;
  for (const l of w.layers) {
    l.q = scaleColumns(l.q, l.attnNorm);
    l.k = scaleColumns(l.k, l.attnNorm);
    l.v = scaleColumns(l.v, l.attnNorm);
    l.gate = scaleColumns(l.gate, l.ffnNorm);
    l.up = scaleColumns(l.up, l.ffnNorm);
    l.attnNorm = ones(m.config.dim);
    l.ffnNorm = ones(m.config.dim);
  }
  w.output = scaleColumns(w.output, w.finalNorm);
  w.finalNorm = ones(m.config.dim);
  m.transforms!.push('fuseNorms');
  return m;
}

function checkDim(
  r: OrthogonalOperator | RotationSpec,
  n: number,
  argument: string,
  what: string,
): OrthogonalOperator {
  if (!r || typeof r !== 'object' || r.dim !== n) {
    throw new NqInputError(
      argument,
      `must be an orthogonal operator of size ${n} (${what}), got ${r?.dim ?? String(r)}`,
      `Build a ${n}×${n} rotation (e.g. randomOrthogonal(${n}, seed) or a Hadamard of size ${n}).`,
    );
  }
  return asOperator(r);
}

/**
 * QuaRot's R1: rotates the residual stream by an orthogonal R (dim × dim). Every vector on the
 * residual becomes x·R: embeddings E·R; linears reading it (q, k, v, gate, up, classifier) take
 * W·R; linears writing it (o, down) take Rᵀ·W. Requires fused norms (call `fuseNorms` first).
 */
export function rotateResidual(model: LoadedModel, rotation: OrthogonalOperator | RotationSpec): LoadedModel {
  const r = checkDim(rotation, model.config.dim, 'rotation', 'the model dim');
  if (!normsAreFused(model)) {
    throw new NqInputError(
      'model',
      'has RMSNorm scales ≠ 1, which do not commute with a residual rotation',
      'Call fuseNorms(model) first.',
    );
  }
  const m = cloneModel(model);
  const w = m.weights;
  w.tokenEmbedding = r.applyRight(w.tokenEmbedding);
  for (const l of w.layers) {
    l.q = rotateInput(l.q, r);
    l.k = rotateInput(l.k, r);
    l.v = rotateInput(l.v, r);
    l.gate = rotateInput(l.gate, r);
    l.up = rotateInput(l.up, r);
    l.o = rotateOutput(l.o, r);
    l.down = rotateOutput(l.down, r);
  }
  w.output = rotateInput(w.output, r);
  m.transforms!.push(`rotateResidual:${r.label ?? `orthogonal-${r.dim}`}`);
  return m;
}

/**
 * QuaRot's R4: an online rotation of down_proj's input (hiddenDim wide, e.g. a Hadamard, which
 * spreads the SwiGLU output's outliers) with down's weight pre-rotated to W·R, so down(h·R) = down(h).
 * The forward pass applies R at run time (`model.online.downInput`); hooks see h·R.
 */
export function onlineRotateDown(
  model: LoadedModel,
  rotation: OrthogonalOperator | RotationSpec,
): LoadedModel {
  const r = checkDim(rotation, model.config.hiddenDim, 'rotation', 'the SwiGLU hidden size');
  if (model.online?.downInput) {
    throw new NqUnsupportedError(
      'a second online rotation before down_proj',
      'Apply onlineRotateDown once (compose the rotations yourself if needed).',
    );
  }
  const m = cloneModel(model);
  for (const l of m.weights.layers) l.down = rotateInput(l.down, r);
  m.online = { ...(m.online ?? {}), downInput: r };
  m.transforms!.push(`onlineRotateDown:${r.label ?? `orthogonal-${r.dim}`}`);
  return m;
}

/**
 * Optional per-head value/output rotation (QuaRot/SpinQuant's R2): each V head's output becomes
 * v·R (headDim × headDim, W_v,h' = Rᵀ·W_v,h), attention mixes rotated values into rotated outputs,
 * and o_proj absorbs it (each head's block of columns W_o,h' = W_o,h·R). Offline only, no run-time cost.
 */
export function rotateValueOutput(
  model: LoadedModel,
  rotation: OrthogonalOperator | RotationSpec,
): LoadedModel {
  const c = model.config;
  const hd = c.dim / c.nHeads;
  const r = checkDim(rotation, hd, 'rotation', 'the head size');
  const m = cloneModel(model);
  for (const l of m.weights.layers) {
    // v: [nKvHeads·hd, dim], rotate each head's block of rows.
    for (let g = 0; g < c.nKvHeads; g++) {
      const block = { rows: hd, cols: c.dim, data: l.v.data.subarray(g * hd * c.dim, (g + 1) * hd * c.dim) };
      l.v.data.set(rotateOutput(block, r).data, g * hd * c.dim);
    }
    // o: [dim, nHeads·hd]; each query head's columns h·hd..(h+1)·hd are a [dim, hd] block.
    const qDim = c.nHeads * hd;
    const block = { rows: c.dim, cols: hd, data: new Float32Array(c.dim * hd) };
    for (let h = 0; h < c.nHeads; h++) {
      for (let i = 0; i < c.dim; i++)
        block.data.set(l.o.data.subarray(i * qDim + h * hd, i * qDim + (h + 1) * hd), i * hd);
      const rb = rotateInput(block, r);
      for (let i = 0; i < c.dim; i++) l.o.data.set(rb.data.subarray(i * hd, (i + 1) * hd), i * qDim + h * hd);
    }
  }
  m.transforms!.push(`rotateValueOutput:${r.label ?? `orthogonal-${r.dim}`}`);
  return m;
}

/**
 * R4 with a Hadamard: `onlineRotateDown` with @nq/hadamard's `blockHadamard(hiddenDim, hiddenDim, seed)`
 * (a Kronecker construction for non-powers of two, e.g. 768 = 12⊗64; random ±1 signs when `seed` is
 * given). Sizes @nq/hadamard cannot build throw its NqUnsupportedError listing the nearest ones.
 */
export function onlineHadamardDown(model: LoadedModel, seed?: number): LoadedModel {
  const n = model.config.hiddenDim;
  return onlineRotateDown(
    model,
    rotationOperator(blockHadamard(n, n, seed), `hadamard-${n}${seed === undefined ? '' : `-seed${seed}`}`),
  );
}
