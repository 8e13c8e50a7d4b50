import { assertMatrix, type Matrix, NqInputError } from '@nq/core';
import { gemmABt } from '@nq/model';
import { defaultWasmGemm } from '@nq/model/cpu';
import { awqScales, scaleWeight, unscaleActivation } from './rules.js';

/*
 * AWQ's search: for one input X (calibration rows) and the weights reading it, try s = mean|X_j|^α
 * for α on a grid and keep the α minimizing the layer's output error
 *   Σ_W ‖X·Wᵀ − Q_a(X·diag(1/s))·Q_w(W·diag(s))ᵀ‖²_F
 * (Q_a = identity for weight-only quantization). α = 0 (s = 1: no rescale) is always on the grid,
 * so the chosen α never does worse than no rescaling on this objective.
 */

export interface AwqSearchOptions {
  /** Exponents to try (default 0, 0.05, …, 1 — AWQ's 20-point grid plus 0 and 1). α = 0 is added when missing. */
  grid?: readonly number[];
  /** The weight quantizer Q_w (fake-quant: returns Ŵ). */
  quantizeWeight: (w: Matrix) => Matrix;
  /** The activation quantizer Q_a (fake-quant), or none for weight-only quantization. */
  quantizeActivation?: (x: Matrix) => Matrix;
}

export interface AwqSearchResult {
  alpha: number;
  scales: Float32Array;
  /** The objective at every α tried (grid order). */
  losses: { alpha: number; loss: number }[];
}

const gemm = (a: Float32Array, T: number, K: number, b: Float32Array, N: number, y: Float32Array): void => {
  const w = defaultWasmGemm();
  if (w) w.gemm(a, T, K, b, N, y);
  else gemmABt(a, T, K, b, N, y);
};

/** Σ_W ‖X·Wᵀ − Q_a(X·diag(1/s))·Q_w(W·diag(s))ᵀ‖²_F (float64 sums). */
export function rescaledOutputError(
  x: Matrix,
  ws: readonly Matrix[],
  s: Float32Array,
  opts: Pick<AwqSearchOptions, 'quantizeWeight' | 'quantizeActivation'>,
  ref?: Float32Array[],
): number {
  const xs = unscaleActivation(x, s);
  const xq = opts.quantizeActivation ? opts.quantizeActivation(xs) : xs;
  let loss = 0;
  ws.forEach((w, i) => {
    const y0 = ref?.[i] ?? new Float32Array(x.rows * w.rows);
    if (!ref) gemm(x.data, x.rows, x.cols, w.data, w.rows, y0);
    const wq = opts.quantizeWeight(scaleWeight(w, s));
    const y = new Float32Array(x.rows * w.rows);
    gemm(xq.data, x.rows, x.cols, wq.data, w.rows, y);
    for (let k = 0; k < y.length; k++) {
      const d = y0[k]! - y[k]!;
      loss += d * d;
    }
  });
  return loss;
}

/** The input checks of awqSearch and awqSearchWebGPU: x a matrix, ws non-empty weights reading x. */
export function checkAwqOperands(x: Matrix, ws: readonly Matrix[]): void {
  assertMatrix(x, 'x');
  if (!Array.isArray(ws) || ws.length === 0)
    throw new NqInputError('ws', 'must be a non-empty array of weights reading x', 'Pass e.g. [q, k, v].');
  ws.forEach((w, i) => {
    assertMatrix(w, `ws[${i}]`);
    if (w.cols !== x.cols)
      throw new NqInputError(
        `ws[${i}]`,
        `has ${w.cols} input columns, x has ${x.cols} channels`,
        'Pass the weights that read x.',
      );
  });
}

/** The α grid searched (default 0, 0.05, …, 1), with α = 0 (no rescale) added when missing. */
export function awqGrid(grid?: readonly number[]): number[] {
  const g = [...(grid ?? Array.from({ length: 21 }, (_, i) => i / 20))];
  if (!g.includes(0)) g.unshift(0);
  return g;
}

export function awqSearch(
  x: Matrix,
  ws: readonly Matrix[],
  actMeanAbs: ArrayLike<number>,
  opts: AwqSearchOptions,
): AwqSearchResult {
  checkAwqOperands(x, ws);
  if (typeof opts?.quantizeWeight !== 'function')
    throw new NqInputError(
      'opts.quantizeWeight',
      'must be a function (w) => Ŵ',
      'Pass e.g. (w) => fakeQuant(w, spec).',
    );
  const grid = awqGrid(opts.grid);
  const ref = ws.map((w) => {
    const y = new Float32Array(x.rows * w.rows);
    gemm(x.data, x.rows, x.cols, w.data, w.rows, y);
    return y;
  });
  const losses: { alpha: number; loss: number }[] = [];
  let best: { alpha: number; loss: number; scales: Float32Array } = {
    alpha: 0,
    loss: Infinity,
    scales: new Float32Array(0),
  };
  for (const alpha of grid) {
    const s = awqScales(actMeanAbs, alpha);
    const loss = rescaledOutputError(x, ws, s, opts, ref);
    losses.push({ alpha, loss });
    if (loss < best.loss) best = { alpha, loss, scales: s };
  }
  return { alpha: best.alpha, scales: best.scales, losses };
}
