import { NqInputError } from '@nq/core';
import type { GemmFn } from '@nq/model';
import { orthogonalityError } from './cpu/dense64.js';
import { procrustes, weightedCross } from './cpu/procrustes.js';
import { rotateRows } from './cpu/rotate-rows.js';
import type { RowQuantizer } from './quantizers.js';

/**
 * DFRot: refine an orthogonal R (the residual rotation R1) on calibration activations X [rows, n] by
 * alternating
 *   (a) Ẑ = Q(X·R) — quantize with the scales of the current X·R (per token for INT4);
 *   (b) R ← argmin over orthogonal R of Σₜ wₜ‖xₜ·R − ẑₜ‖² = Procrustes(Xᵀ·diag(w)·Ẑ),
 * with wₜ = γ for massive-activation tokens and 1 for the others. The weighted loss
 *   L(R) = Σₜ wₜ‖xₜR − Q(xₜR)‖² / Σₜ wₜ‖xₜ‖²
 * is recorded before the first and after every iteration; the R with the smallest L is returned.
 * Step (b) never increases Σ wₜ‖xₜR − ẑₜ‖² for the Ẑ of step (a) (it is the global minimiser);
 * the re-quantization of step (a) can, which is why the best iterate is kept.
 */
export interface DfrotOptions {
  /** Iterations (default 20). */
  iterations?: number;
  /** Per-token weights (e.g. tokenWeights(mask, γ)); default all 1. */
  weights?: Float64Array | null;
  onIteration?: (it: number, loss: number) => void;
  /**
   * A float32 GEMM Y = A·Bᵀ (e.g. @nq/model's defaultWasmGemm().gemm) for X·R and XᵀWẐ on large
   * calibration sets. Default: X·R with @nq/model's JS GEMM and XᵀWẐ accumulated in float64.
   */
  gemm?: GemmFn;
}

export interface DfrotResult {
  /** The refined rotation, n × n float64 row-major (x ↦ x·R). */
  r: Float64Array;
  /** loss[0] = L(init), loss[i] = L after iteration i. */
  loss: number[];
  /** Index into `loss` of the returned R. */
  best: number;
  seconds: number;
}

export function weightedQuantLoss(
  x: Float32Array,
  rows: number,
  n: number,
  r: ArrayLike<number>,
  quantize: RowQuantizer,
  w: Float64Array | null,
  scratch?: { z: Float32Array; q: Float32Array },
): number {
  const z = rotateRows(x, rows, n, r, scratch?.z);
  const q = scratch?.q ?? new Float32Array(rows * n);
  quantize(z, rows, n, q);
  return lossOf(x, z, q, rows, n, w);
}

function lossOf(
  x: Float32Array,
  z: Float32Array,
  q: Float32Array,
  rows: number,
  n: number,
  w: Float64Array | null,
): number {
  let num = 0;
  let den = 0;
  for (let t = 0; t < rows; t++) {
    const wt = w ? w[t]! : 1;
    let e = 0;
    let s = 0;
    const o = t * n;
    for (let j = 0; j < n; j++) {
      const d = z[o + j]! - q[o + j]!;
      e += d * d;
      s += x[o + j]! * x[o + j]!;
    }
    num += wt * e;
    den += wt * s;
  }
  return den > 0 ? num / den : 0;
}

/** One Procrustes step: the orthogonal R minimising Σ wₜ‖xₜR − ẑₜ‖² for fixed targets Ẑ. */
export function procrustesStep(
  x: Float32Array,
  zq: Float32Array,
  rows: number,
  n: number,
  w: Float64Array | null,
): Float64Array {
  return procrustes(weightedCross(x, zq, rows, n, w), n);
}

/** DFRot's start: an n × n orthogonal matrix (checked on every backend before any work). */
export function checkDfrotInit(init: ArrayLike<number>, n: number): void {
  if (init.length !== n * n)
    throw new NqInputError(
      'init',
      `has ${init.length} entries, expected ${n * n}`,
      'Pass an n × n orthogonal matrix (e.g. toDense(randomHadamard(n, seed)).data).',
    );
  const oe = orthogonalityError(init, n, n);
  if (oe > 1e-4)
    throw new NqInputError(
      'init',
      `is not orthogonal (max |RᵀR − I| = ${oe.toExponential(2)})`,
      'Start from a random Hadamard or random orthogonal matrix.',
    );
}

/** The iteration count of DfrotOptions (default 20), checked. */
export function dfrotIterations(opts: { iterations?: number }): number {
  const iters = opts.iterations ?? 20;
  if (!Number.isInteger(iters) || iters < 0)
    throw new NqInputError('iterations', `is ${iters}`, 'Use a non-negative integer, e.g. 20.');
  return iters;
}

export function refineDfrot(
  x: Float32Array,
  rows: number,
  n: number,
  init: ArrayLike<number>,
  quantize: RowQuantizer,
  opts: DfrotOptions = {},
): DfrotResult {
  const t0 = performance.now();
  if (x.length !== rows * n)
    throw new NqInputError(
      'x',
      `has ${x.length} entries, expected rows·n = ${rows * n}`,
      'Pass calibration activations as a row-major rows × n array.',
    );
  checkDfrotInit(init, n);
  const w = opts.weights ?? null;
  if (w && w.length !== rows)
    throw new NqInputError(
      'weights',
      `has ${w.length} entries for ${rows} tokens`,
      'Pass one weight per calibration token.',
    );
  const iters = dfrotIterations(opts);
  let r: Float64Array = Float64Array.from(init);
  const z = new Float32Array(rows * n);
  const q = new Float32Array(rows * n);
  const gemm = opts.gemm;
  // Fast path: Xᵀ once (n × rows), then XᵀWẐ = Xᵀ·((WẐ)ᵀ)ᵀ by the GEMM.
  const xt = gemm ? transposeF32(x, rows, n) : null;
  const wzt = gemm ? new Float32Array(rows * n) : null;
  const m32 = gemm ? new Float32Array(n * n) : null;
  const rt = new Float32Array(n * n);
  const rotate = (rr: Float64Array) => {
    if (!gemm) return rotateRows(x, rows, n, rr, z);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) rt[j * n + i] = rr[i * n + j]!;
    gemm(x, rows, n, rt, n, z);
    return z;
  };
  const step = (): Float64Array => {
    if (!gemm) return procrustesStep(x, q, rows, n, w);
    for (let t = 0; t < rows; t++) {
      const wt = w ? w[t]! : 1;
      for (let j = 0; j < n; j++) wzt![j * rows + t] = wt * q[t * n + j]!;
    }
    gemm(xt!, n, rows, wzt!, n, m32!);
    return procrustes(m32!, n);
  };
  rotate(r);
  quantize(z, rows, n, q);
  const loss = [lossOf(x, z, q, rows, n, w)];
  let best = 0;
  let bestR: Float64Array = r;
  for (let it = 1; it <= iters; it++) {
    // (b) with the targets of (a) from the previous R, then (a) again for the loss and the next step.
    r = step();
    rotate(r);
    quantize(z, rows, n, q);
    const l = lossOf(x, z, q, rows, n, w);
    loss.push(l);
    opts.onIteration?.(it, l);
    if (l < loss[best]!) {
      best = it;
      bestR = r;
    }
  }
  return { r: bestR, loss, best, seconds: (performance.now() - t0) / 1000 };
}

function transposeF32(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j]!;
  return t;
}
