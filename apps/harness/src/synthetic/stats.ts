import type { Matrix } from '@nq/core';

/**
 * The activation statistics of the shared models' READMEs (nq-docs-5M "Activation statistics"
 * table), computed the same way so synthetic profiles can be matched to them:
 *  - absmax: max |x| over the matrix;
 *  - median_abs: median of |x|;
 *  - top_channel_ratio: (largest per-channel max|x|) / (median per-channel max|x|);
 *  - kurtosis: E[(x−μ)⁴]/σ⁴ over all values (3 for a Gaussian, not "excess").
 */
export interface ActivationStats {
  absmax: number;
  median_abs: number;
  top_channel_ratio: number;
  kurtosis: number;
}

export function activationStats(x: Matrix): ActivationStats {
  const { rows, cols, data } = x;
  const n = data.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += data[i]!;
  mean /= n;
  let m2 = 0;
  let m4 = 0;
  let absmax = 0;
  for (let i = 0; i < n; i++) {
    const d = data[i]! - mean;
    const d2 = d * d;
    m2 += d2;
    m4 += d2 * d2;
    const a = Math.abs(data[i]!);
    if (a > absmax) absmax = a;
  }
  m2 /= n;
  m4 /= n;
  const abs = new Float32Array(n);
  for (let i = 0; i < n; i++) abs[i] = Math.abs(data[i]!);
  const chMax = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) if (abs[o + c]! > chMax[c]!) chMax[c] = abs[o + c]!;
  }
  const topCh = chMax.reduce((a, b) => Math.max(a, b), 0);
  const medCh = median(chMax);
  return {
    absmax,
    median_abs: median(abs),
    top_channel_ratio: medCh > 0 ? topCh / medCh : Number.POSITIVE_INFINITY,
    kurtosis: m2 > 0 ? m4 / (m2 * m2) : Number.NaN,
  };
}

/** Median (sorts a copy; mean of the two middle values for even length). */
export function median(a: Float32Array): number {
  if (a.length === 0) return Number.NaN;
  const s = a.slice().sort();
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}
