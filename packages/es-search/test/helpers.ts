import { type Matrix, Rng } from '@nq/core';

/** LLM-like activations: Gaussian tokens × dim with a few outlier channels (×scale), seeded. */
export function outlierActivations(
  tokens: number,
  dim: number,
  seed: number,
  outliers = 3,
  scale = 20,
): Matrix {
  const rng = new Rng(seed);
  const data = rng.normals(tokens * dim);
  const chans: number[] = [];
  for (let i = 0; i < outliers; i++) chans.push(rng.int(dim));
  for (let t = 0; t < tokens; t++) for (const c of chans) data[t * dim + c]! *= scale;
  return { rows: tokens, cols: dim, data };
}

export function gaussian(rows: number, cols: number, seed: number): Matrix {
  return { rows, cols, data: new Rng(seed).normals(rows * cols) };
}

/** x·R with R given densely (float64 accumulation): an implementation independent of the FWHT kernels. */
export function denseRotate(x: Matrix, r: Matrix): Matrix {
  const n = r.rows;
  const out = new Float32Array(x.rows * n);
  for (let i = 0; i < x.rows; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += x.data[i * n + k]! * r.data[k * n + j]!;
      out[i * n + j] = s;
    }
  return { rows: x.rows, cols: n, data: out };
}
