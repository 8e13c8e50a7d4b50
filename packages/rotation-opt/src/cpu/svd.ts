import { NqInputError } from '@nq/core';

/**
 * Thin SVD A = U·diag(S)·Vᵀ of a real m × n matrix (float64, row-major), by one-sided Jacobi
 * (Hestenes): plane rotations applied to the columns of A until every pair is orthogonal to
 * working precision; the column norms are then the singular values and V accumulates the rotations.
 * Chosen over bidiagonalisation + QR because it is short, needs no shifts, and is accurate to high
 * relative precision even for tiny singular values (Demmel & Veselić 1992).
 *
 * Shapes: U [m, k], S [k] (descending, ≥ 0), V [n, k] with k = min(m, n). For m < n the SVD of Aᵀ is
 * computed and the roles of U and V swapped. Columns of U belonging to zero singular values are
 * completed to an orthonormal set (Gram–Schmidt on unit vectors), so U always has orthonormal
 * columns — what Procrustes needs for rank-deficient cross products.
 */
export interface Svd {
  u: Float64Array;
  s: Float64Array;
  v: Float64Array;
  m: number;
  n: number;
  k: number;
  /** Jacobi sweeps used. */
  sweeps: number;
}

export interface SvdOptions {
  /** Pair tolerance: stop when |aᵢ·aⱼ| ≤ tol·‖aᵢ‖‖aⱼ‖ for every pair (default 1e-15). */
  tol?: number;
  /** Sweep limit (default 60; one-sided Jacobi converges quadratically, typically 6–12). */
  maxSweeps?: number;
}

export function svd(a: ArrayLike<number>, m: number, n: number, opts: SvdOptions = {}): Svd {
  if (!Number.isInteger(m) || !Number.isInteger(n) || m < 1 || n < 1)
    throw new NqInputError('svd(m, n)', `has shape ${m} × ${n}`, 'Pass positive integer dimensions.');
  if (a.length !== m * n)
    throw new NqInputError(
      'svd(a)',
      `has ${a.length} entries, expected m·n = ${m * n}`,
      'Pass a row-major m × n array.',
    );
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]!))
      throw new NqInputError(
        'svd(a)',
        `entry ${i} (row ${Math.floor(i / n)}, col ${i % n}) is ${a[i]}`,
        'Remove NaN/Inf before the SVD.',
      );
  }
  if (m < n) {
    const at = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) at[j * m + i] = a[i * n + j]!;
    const r = svdTall(at, n, m, opts);
    return { u: r.v, s: r.s, v: r.u, m, n, k: r.k, sweeps: r.sweeps };
  }
  return svdTall(a, m, n, opts);
}

/** m ≥ n. Columns are stored contiguously (column-major work arrays) so the inner loops stream. */
function svdTall(a: ArrayLike<number>, m: number, n: number, opts: SvdOptions): Svd {
  const tol = opts.tol ?? 1e-15;
  const maxSweeps = opts.maxSweeps ?? 60;
  const col = new Float64Array(m * n); // column j at [j*m, (j+1)*m)
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) col[j * m + i] = a[i * n + j]!;
  const vc = new Float64Array(n * n); // V column-major
  for (let j = 0; j < n; j++) vc[j * n + j] = 1;
  const norm2 = new Float64Array(n);
  let sweeps = 0;
  for (; sweeps < maxSweeps; ) {
    sweeps++;
    // Fresh column norms every sweep (the running updates drift).
    for (let j = 0; j < n; j++) {
      let s = 0;
      const o = j * m;
      for (let r = 0; r < m; r++) s += col[o + r]! * col[o + r]!;
      norm2[j] = s;
    }
    let rotated = 0;
    for (let i = 0; i < n - 1; i++) {
      const oi = i * m;
      for (let j = i + 1; j < n; j++) {
        const alpha = norm2[i]!;
        const beta = norm2[j]!;
        if (alpha === 0 || beta === 0) continue;
        const oj = j * m;
        let gamma = 0;
        for (let r = 0; r < m; r++) gamma += col[oi + r]! * col[oj + r]!;
        if (Math.abs(gamma) <= tol * Math.sqrt(alpha * beta)) continue;
        rotated++;
        // Rotation that zeroes the (i, j) entry of the Gram matrix [[α, γ], [γ, β]].
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let r = 0; r < m; r++) {
          const x = col[oi + r]!;
          const y = col[oj + r]!;
          col[oi + r] = c * x - s * y;
          col[oj + r] = s * x + c * y;
        }
        const vi = i * n;
        const vj = j * n;
        for (let r = 0; r < n; r++) {
          const x = vc[vi + r]!;
          const y = vc[vj + r]!;
          vc[vi + r] = c * x - s * y;
          vc[vj + r] = s * x + c * y;
        }
        norm2[i] = alpha - t * gamma;
        norm2[j] = beta + t * gamma;
      }
    }
    if (rotated === 0) break;
  }
  // Singular values, descending order.
  const sv = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let s = 0;
    const o = j * m;
    for (let r = 0; r < m; r++) s += col[o + r]! * col[o + r]!;
    sv[j] = Math.sqrt(s);
  }
  const order = Array.from({ length: n }, (_, j) => j).sort((p, q) => sv[q]! - sv[p]!);
  const u = new Float64Array(m * n);
  const v = new Float64Array(n * n);
  const s = new Float64Array(n);
  const smax = sv[order[0]!]!;
  const zeroTol = smax * m * 2.3e-16;
  const zeroCols: number[] = [];
  for (let k = 0; k < n; k++) {
    const j = order[k]!;
    s[k] = sv[j]!;
    for (let r = 0; r < n; r++) v[r * n + k] = vc[j * n + r]!;
    if (sv[j]! > zeroTol && sv[j]! > 0) {
      const inv = 1 / sv[j]!;
      for (let r = 0; r < m; r++) u[r * n + k] = col[j * m + r]! * inv;
    } else zeroCols.push(k);
  }
  if (zeroCols.length) completeColumns(u, m, n, zeroCols);
  return { u, s, v, m, n, k: n, sweeps };
}

/**
 * Fills the listed columns of U [m, n] with unit vectors orthogonal to all other columns: for each,
 * the unit vector e_r with a large residual after projecting out the filled columns (two
 * Gram–Schmidt passes, "twice is enough"). The residual norms² of all m unit vectors sum to
 * m − (filled columns), so one with at least half the average exists; the first such is taken,
 * else the largest (a fixed threshold can run out of candidates when many columns are missing).
 */
function completeColumns(u: Float64Array, m: number, n: number, cols: number[]): void {
  const filled = new Uint8Array(n).fill(1);
  for (const c of cols) filled[c] = 0;
  let nFilled = n - cols.length;
  const cand = new Float64Array(m);
  const best = new Float64Array(m);
  const residual = (e: number): number => {
    cand.fill(0);
    cand[e] = 1;
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < n; k++) {
        if (!filled[k]) continue;
        let d = 0;
        for (let r = 0; r < m; r++) d += u[r * n + k]! * cand[r]!;
        for (let r = 0; r < m; r++) cand[r]! -= d * u[r * n + k]!;
      }
    }
    let nn = 0;
    for (let r = 0; r < m; r++) nn += cand[r]! * cand[r]!;
    return nn;
  };
  let e = 0;
  for (const c of cols) {
    const want = (0.5 * (m - nFilled)) / m;
    let bestNn = -1;
    for (let tries = 0; tries < m; tries++, e = (e + 1) % m) {
      const nn = residual(e);
      if (nn > bestNn) {
        bestNn = nn;
        best.set(cand);
      }
      if (nn >= want) break;
    }
    e = (e + 1) % m;
    const inv = 1 / Math.sqrt(bestNn);
    for (let r = 0; r < m; r++) u[r * n + c] = best[r]! * inv;
    filled[c] = 1;
    nFilled++;
  }
}
