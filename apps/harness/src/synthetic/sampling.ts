import type { Rng } from '@nq/core';

/**
 * Gamma(shape, 1) by Marsaglia & Tsang (2000), shape ≥ 1 (shape < 1 uses the boost
 * Gamma(a) = Gamma(a+1)·U^(1/a)). Uses only the Rng's normal and uniform streams, so it is as
 * reproducible as they are.
 */
export function gamma(rng: Rng, shape: number): number {
  if (shape < 1) return gamma(rng, shape + 1) * rng.uniform() ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = rng.normal();
    const t = 1 + c * x;
    if (t <= 0) continue;
    const v = t * t * t;
    const u = rng.uniform();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** Student-t with ν degrees of freedom, rescaled to unit variance (needs ν > 2): heavy-tailed noise. */
export function studentTUnitVariance(rng: Rng, nu: number): number {
  const chi2 = 2 * gamma(rng, nu / 2);
  return (rng.normal() / Math.sqrt(chi2 / nu)) * Math.sqrt((nu - 2) / nu);
}

/** k distinct indices from [0, n), in increasing order. */
export function pickDistinct(rng: Rng, n: number, k: number): number[] {
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  // Partial Fisher–Yates: only the first k positions are needed.
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  return Array.from(idx.subarray(0, k)).sort((a, b) => a - b);
}
