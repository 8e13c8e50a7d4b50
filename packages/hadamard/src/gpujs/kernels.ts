// gpu.js kernel functions. gpu.js compiles these from their source text (to WGSL, WebAssembly or
// JavaScript), so they use only what its translator understands: plain arithmetic, Math.floor, %,
// loops bounded by constants, this.thread / this.constants. Flat arrays throughout: element g of the
// batch is row Math.floor(g / dim), column g % dim.
/* eslint-disable */

type K = { thread: { x: number }; constants: Record<string, number> };

/** out[g] = x[g] · signs[g mod dim] · scale. */
export function multiplySignsKernel(this: K, x: number[], signs: number[]): number {
  const g = this.thread.x;
  return x[g]! * signs[g % this.constants.dim]! * this.constants.scale;
}

/** out[g] = x[g] · scale. */
export function scaleKernel(this: K, x: number[]): number {
  return x[this.thread.x]! * this.constants.scale;
}

/** One radix-2 butterfly stage at distance h (within aligned chunks, h < chunk). */
export function butterflyKernel(this: K, x: number[]): number {
  const g = this.thread.x;
  const h = this.constants.h;
  const upper = Math.floor(g / h) % 2;
  let v = 0;
  if (upper === 0) {
    v = x[g]! + x[g + h]!;
  } else {
    v = x[g - h]! - x[g]!;
  }
  return v;
}

/** Kronecker H_m factor: y[blk, a2, c] = Σ_a H[a][a2] · x[blk, a, c] (or H[a2][a] when transposed = 1). */
export function mixKernel(this: K, x: number[], hm: number[]): number {
  const g = this.thread.x;
  const m = this.constants.m;
  const p = this.constants.p;
  const b = m * p;
  const blk = Math.floor(g / b);
  const within = g - blk * b;
  const a2 = Math.floor(within / p);
  const c = within - a2 * p;
  let s = 0;
  for (let a = 0; a < this.constants.m; a++) {
    let h = hm[a * m + a2]!;
    if (this.constants.transposed > 0) h = hm[a2 * m + a]!;
    s += h * x[blk * b + a * p + c]!;
  }
  return s;
}

/** Orthogonal blocks: y[row, blk, c] = Σ_i x[row, blk, i] · Q_blk[i][c] (or Q_blk[c][i] when inverse = 1). */
export function orthogonalKernel(this: K, x: number[], q: number[]): number {
  const g = this.thread.x;
  const dim = this.constants.dim;
  const b = this.constants.b;
  const col = g % dim;
  const blk = Math.floor(col / b);
  const c = col - blk * b;
  const x0 = g - c;
  const q0 = blk * b * b;
  let s = 0;
  for (let i = 0; i < this.constants.b; i++) {
    let qv = q[q0 + i * b + c]!;
    if (this.constants.inverse > 0) qv = q[q0 + c * b + i]!;
    s += x[x0 + i]! * qv;
  }
  return s;
}
