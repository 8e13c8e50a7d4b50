import { NqInputError } from '@nq/core';

/*
 * Lloyd-Max scalar codebooks for the coordinates TurboQuant quantizes.
 *
 * After a group of g weights is divided by its L2 norm and rotated by a random orthogonal map, each
 * coordinate is distributed (for a uniformly random rotation) like one coordinate of a uniformly
 * random point on the unit sphere S^{g-1}: density f(x) ∝ (1 − x²)^{(g−3)/2} on [−1, 1] (a Beta
 * law; → N(0, 1/g) as g grows). The random-sign FWHT is not uniformly random, but close enough that
 * this is the codebook TurboQuant uses; `fitted` codebooks (Lloyd on the real rotated values) are the
 * alternative, see turboquant.ts.
 *
 * The Lloyd-Max quantizer of a density is the fixed point of (1) boundaries at the midpoints of
 * adjacent centroids, (2) each centroid at the conditional mean of its cell. We integrate the density
 * on a fine grid once (cumulative mass F and first moment M, trapezoidal), and evaluate F, M at any
 * boundary by linear interpolation, so each Lloyd step costs O(K log N).
 */

/** Grid points for the numerical integration (error of the centroids ~ (grid step)²). */
const GRID = 1 << 16;

export interface Density1D {
  /** Sorted grid abscissae. */
  x: Float64Array;
  /** Cumulative mass at x[i] (F[0] = 0, F[N−1] = 1). */
  F: Float64Array;
  /** Cumulative first moment ∫ t f(t) dt up to x[i]. */
  M: Float64Array;
}

/** Tabulates a density given by its log (up to a constant) on [lo, hi]. */
export function tabulateDensity(
  logDensity: (x: number) => number,
  lo: number,
  hi: number,
  n = GRID,
): Density1D {
  const x = new Float64Array(n);
  const f = new Float64Array(n);
  let maxLog = -Infinity;
  const logs = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = lo + ((hi - lo) * i) / (n - 1);
    logs[i] = logDensity(x[i]!);
    if (logs[i]! > maxLog) maxLog = logs[i]!;
  }
  for (let i = 0; i < n; i++) f[i] = Number.isFinite(logs[i]!) ? Math.exp(logs[i]! - maxLog) : 0;
  const F = new Float64Array(n);
  const M = new Float64Array(n);
  for (let i = 1; i < n; i++) {
    const h = x[i]! - x[i - 1]!;
    F[i] = F[i - 1]! + (h * (f[i]! + f[i - 1]!)) / 2;
    M[i] = M[i - 1]! + (h * (f[i]! * x[i]! + f[i - 1]! * x[i - 1]!)) / 2;
  }
  const total = F[n - 1]!;
  for (let i = 0; i < n; i++) {
    F[i] = F[i]! / total;
    M[i] = M[i]! / total;
  }
  return { x, F, M };
}

/** Linear interpolation of a cumulative table at t (clamped to the grid). */
function at(d: Density1D, table: Float64Array, t: number): number {
  const { x } = d;
  const n = x.length;
  if (t <= x[0]!) return table[0]!;
  if (t >= x[n - 1]!) return table[n - 1]!;
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x[mid]! <= t) lo = mid;
    else hi = mid;
  }
  const u = (t - x[lo]!) / (x[hi]! - x[lo]!);
  return table[lo]! + u * (table[hi]! - table[lo]!);
}

/** Mass and conditional mean of the density on [a, b]. */
export function cellMoments(d: Density1D, a: number, b: number): { mass: number; mean: number } {
  const mass = at(d, d.F, b) - at(d, d.F, a);
  const first = at(d, d.M, b) - at(d, d.M, a);
  return { mass, mean: mass > 0 ? first / mass : (a + b) / 2 };
}

/**
 * Lloyd-Max centroids (ascending, K of them) of a tabulated density: start at the quantiles
 * (k + ½)/K, iterate midpoint boundaries / conditional means until no centroid moves by more than
 * `tol` (relative to the spread) or `maxIter` steps.
 */
export function lloydMaxForDensity(d: Density1D, K: number, tol = 1e-13, maxIter = 20000): Float64Array {
  const c = new Float64Array(K);
  // initial centroids at the quantiles
  let i = 0;
  for (let k = 0; k < K; k++) {
    const q = (k + 0.5) / K;
    while (i < d.F.length - 1 && d.F[i + 1]! < q) i++;
    c[k] = d.x[Math.min(i + 1, d.x.length - 1)]!;
  }
  const lo = d.x[0]!;
  const hi = d.x[d.x.length - 1]!;
  const spread = hi - lo;
  for (let it = 0; it < maxIter; it++) {
    let moved = 0;
    let a = lo;
    for (let k = 0; k < K; k++) {
      const b = k === K - 1 ? hi : (c[k]! + c[k + 1]!) / 2;
      const { mean } = cellMoments(d, a, b);
      moved = Math.max(moved, Math.abs(mean - c[k]!));
      c[k] = mean;
      a = b;
    }
    if (moved <= tol * spread) break;
  }
  return c;
}

const betaCache = new Map<string, Float32Array>();

/**
 * The Lloyd-Max codebook (2^bits centroids, ascending, float32) for one coordinate of a uniformly
 * random unit vector in R^g: density ∝ (1 − x²)^{(g−3)/2}. Cached per (g, bits).
 */
export function sphereCoordinateCodebook(g: number, bits: number): Float32Array {
  if (!Number.isInteger(g) || g < 4)
    throw new NqInputError(
      'groupSize',
      `must be an integer ≥ 4, got ${g}`,
      'Use a power of two such as 128.',
    );
  if (!Number.isInteger(bits) || bits < 1 || bits > 8)
    throw new NqInputError('bits', `must be an integer in 1..8, got ${bits}`, 'Use 4 for a 4-bit codebook.');
  const key = `${g}:${bits}`;
  const hit = betaCache.get(key);
  if (hit) return hit;
  // the mass lies within a few 1/√g of 0: integrate on [−L, L] (L ≤ 1) for resolution
  const L = Math.min(1, 14 / Math.sqrt(g));
  const e = (g - 3) / 2;
  const d = tabulateDensity((x) => (Math.abs(x) >= 1 ? -Infinity : e * Math.log1p(-x * x)), -L, L);
  const c = lloydMaxForDensity(d, 1 << bits);
  const out = Float32Array.from(c);
  betaCache.set(key, out);
  return out;
}
