import { assertFinite, assertMatrix, type Matrix, NqInputError } from '@nq/core';

/*
 * Channel rescaling rules. A rescale vector s (one entry per input channel of a linear) turns
 * Y = X·Wᵀ into Y = (X·diag(1/s))·(W·diag(s))ᵀ — the same product, with activation outliers moved
 * into the weights (s_j > 1) or weight outliers into the activations (s_j < 1).
 */

function checkAlpha(alpha: number, name: string): void {
  if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha < 0 || alpha > 1) {
    throw new NqInputError(
      name,
      `must be a number in [0, 1], got ${String(alpha)}`,
      'Use e.g. 0.5 (SmoothQuant) or 0.15 (H_ii^α).',
    );
  }
}

function checkStat(v: ArrayLike<number>, name: string): void {
  if (!v || typeof v.length !== 'number' || v.length === 0)
    throw new NqInputError(
      name,
      'must be a non-empty array of per-channel statistics',
      'Pass one value per input channel (see collectInputStats).',
    );
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (!Number.isFinite(x) || x < 0)
      throw new NqInputError(
        name,
        `has ${x} at channel ${i}; statistics must be finite and ≥ 0`,
        'Recompute the statistics from finite calibration inputs.',
      );
  }
}

/** Channels whose statistic is 0 (never active, or an all-zero weight column) keep s = 1. */
function safePow(v: number, e: number): number {
  return v > 0 ? v ** e : 1;
}

/** max_i |W_ij| over the rows of every matrix (they share the input: q/k/v, gate/up). */
export function weightColumnMaxAbs(ws: readonly Matrix[], name = 'ws'): Float32Array {
  if (!Array.isArray(ws) || ws.length === 0)
    throw new NqInputError(
      name,
      'must be a non-empty array of weights sharing one input',
      'Pass e.g. [q, k, v].',
    );
  const cols = ws[0]!.cols;
  const out = new Float32Array(cols);
  ws.forEach((w, i) => {
    assertMatrix(w, `${name}[${i}]`);
    if (w.cols !== cols)
      throw new NqInputError(
        `${name}[${i}]`,
        `has ${w.cols} columns, ${name}[0] has ${cols}`,
        'Pass weights that read the same input.',
      );
    for (let r = 0; r < w.rows; r++) {
      for (let j = 0; j < cols; j++) {
        const a = Math.abs(w.data[r * cols + j]!);
        if (a > out[j]!) out[j] = a;
      }
    }
  });
  return out;
}

/** SmoothQuant: s_j = max|X_j|^α / max|W_j|^(1−α) (W_j: column j of every weight reading X). */
export function smoothQuantScales(
  actMaxAbs: ArrayLike<number>,
  ws: readonly Matrix[],
  alpha: number,
): Float32Array {
  checkStat(actMaxAbs, 'actMaxAbs');
  checkAlpha(alpha, 'alpha');
  const wmax = weightColumnMaxAbs(ws);
  if (wmax.length !== actMaxAbs.length)
    throw new NqInputError(
      'actMaxAbs',
      `has ${actMaxAbs.length} channels, the weights have ${wmax.length} input columns`,
      'Pass statistics of the input these weights read.',
    );
  const s = new Float32Array(wmax.length);
  for (let j = 0; j < s.length; j++) {
    const a = actMaxAbs[j]!;
    const b = wmax[j]!;
    s[j] = a > 0 && b > 0 ? a ** alpha / b ** (1 - alpha) : 1;
  }
  return s;
}

/**
 * The Hessian-diagonal rule: s_j = H_jj^α with H_jj = mean_t x_tj² (the diagonal of XᵀX/N; GPTQ's
 * H = 2XᵀX/N differs by a constant factor, which only rescales every s by 2^α).
 */
export function hessianDiagScales(hDiag: ArrayLike<number>, alpha: number): Float32Array {
  checkStat(hDiag, 'hDiag');
  checkAlpha(alpha, 'alpha');
  const s = new Float32Array(hDiag.length);
  for (let j = 0; j < s.length; j++) s[j] = safePow(hDiag[j]!, alpha);
  return s;
}

/** AWQ's candidate scales: s_j = mean|X_j|^α, divided by √(max s · min s) (AWQ's normalization). */
export function awqScales(actMeanAbs: ArrayLike<number>, alpha: number): Float32Array {
  checkStat(actMeanAbs, 'actMeanAbs');
  checkAlpha(alpha, 'alpha');
  const s = new Float32Array(actMeanAbs.length);
  let mx = 0;
  let mn = Infinity;
  for (let j = 0; j < s.length; j++) {
    const v = safePow(Math.max(actMeanAbs[j]!, 1e-8), alpha);
    s[j] = v;
    if (v > mx) mx = v;
    if (v < mn) mn = v;
  }
  const norm = Math.sqrt(mx * mn);
  for (let j = 0; j < s.length; j++) s[j] = s[j]! / norm;
  return s;
}

/** Checks a rescale vector for a matrix with `cols` input channels. */
export function checkScales(s: Float32Array, cols: number, name = 's'): void {
  if (!(s instanceof Float32Array))
    throw new NqInputError(
      name,
      'must be a Float32Array',
      'Build it with smoothQuantScales / hessianDiagScales / awqScales.',
    );
  if (s.length !== cols)
    throw new NqInputError(
      name,
      `has ${s.length} entries, the input has ${cols} channels`,
      'Pass one scale per input channel.',
    );
  for (let j = 0; j < s.length; j++) {
    if (!Number.isFinite(s[j]!) || s[j]! <= 0)
      throw new NqInputError(
        name,
        `has ${s[j]} at channel ${j}; scales must be finite and > 0`,
        'Check the statistics the scales came from.',
      );
  }
}

/** W·diag(s): column j of W times s_j. */
export function scaleWeight(w: Matrix, s: Float32Array): Matrix {
  assertMatrix(w, 'w');
  checkScales(s, w.cols);
  const out = new Float32Array(w.data.length);
  for (let r = 0; r < w.rows; r++) {
    const o = r * w.cols;
    for (let j = 0; j < w.cols; j++) out[o + j] = w.data[o + j]! * s[j]!;
  }
  return { rows: w.rows, cols: w.cols, data: out };
}

/** X·diag(1/s): column j of X divided by s_j. */
export function unscaleActivation(x: Matrix, s: Float32Array): Matrix {
  assertMatrix(x, 'x');
  assertFinite(x, 'x');
  checkScales(s, x.cols);
  const out = new Float32Array(x.data.length);
  for (let t = 0; t < x.rows; t++) {
    const o = t * x.cols;
    for (let j = 0; j < x.cols; j++) out[o + j] = x.data[o + j]! / s[j]!;
  }
  return { rows: x.rows, cols: x.cols, data: out };
}
