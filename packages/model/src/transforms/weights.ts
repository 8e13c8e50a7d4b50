import { type Matrix, transpose } from '@nq/core';
import type { LoadedModel, OrthogonalOperator } from '../types.js';

/** Deep copy of a model's weights (transforms never modify their input). */
export function cloneModel(m: LoadedModel): LoadedModel {
  const cm = (x: Matrix): Matrix => ({ rows: x.rows, cols: x.cols, data: x.data.slice() });
  const w = m.weights;
  return {
    config: { ...m.config },
    weights: {
      tokenEmbedding: cm(w.tokenEmbedding),
      finalNorm: w.finalNorm.slice(),
      output: cm(w.output),
      layers: w.layers.map((l) => ({
        attnNorm: l.attnNorm.slice(),
        q: cm(l.q),
        k: cm(l.k),
        v: cm(l.v),
        o: cm(l.o),
        ffnNorm: l.ffnNorm.slice(),
        gate: cm(l.gate),
        up: cm(l.up),
        down: cm(l.down),
      })),
    },
    source: { ...m.source },
    ...(m.online ? { online: { ...m.online } } : {}),
    transforms: [...(m.transforms ?? [])],
  };
}

/** W·diag(s): scales column j of W by s[j] (a linear reading a normed input absorbs the norm's scale). */
export function scaleColumns(w: Matrix, s: Float32Array): Matrix {
  const out = new Float32Array(w.data.length);
  for (let i = 0; i < w.rows; i++) {
    const o = i * w.cols;
    for (let j = 0; j < w.cols; j++) out[o + j] = w.data[o + j]! * s[j]!;
  }
  return { rows: w.rows, cols: w.cols, data: out };
}

/** W·R: the weight of a linear whose input is now x·R (W' such that (xR)·W'ᵀ = x·Wᵀ). */
export function rotateInput(w: Matrix, r: OrthogonalOperator): Matrix {
  return r.applyRight(w);
}

/** Rᵀ·W: the weight of a linear whose output must now be y·R (W' = (Wᵀ·R)ᵀ). */
export function rotateOutput(w: Matrix, r: OrthogonalOperator): Matrix {
  return transpose(r.applyRight(transpose(w)));
}
