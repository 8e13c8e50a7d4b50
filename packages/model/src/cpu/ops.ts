/**
 * The small element-wise and attention ops of a LLaMA block, on row-major typed arrays, in place or
 * into caller-owned buffers (no allocation). Sums are accumulated in float64.
 */
import { fastExp } from './fast-exp.js';

/** out[t] = x[t] / sqrt(mean(x[t]²) + eps) ⊙ weight, for T rows of width `dim`. */
export function rmsNorm(
  x: Float32Array,
  weight: Float32Array,
  out: Float32Array,
  T: number,
  dim: number,
  eps: number,
): void {
  for (let t = 0; t < T; t++) {
    const o = t * dim;
    let ss = 0;
    for (let i = 0; i < dim; i++) {
      const v = x[o + i]!;
      ss += v * v;
    }
    const inv = 1 / Math.sqrt(ss / dim + eps);
    for (let i = 0; i < dim; i++) out[o + i] = x[o + i]! * inv * weight[i]!;
  }
}

/**
 * RoPE tables: cos/sin[pos·half + i] = cos/sin(pos · θ^(−2i/headDim)), grown on demand. The
 * frequencies are computed in float64; the reference (PyTorch float32) differs by < 1e-7 rad·pos.
 */
export class RopeTable {
  readonly headDim: number;
  readonly theta: number;
  cos = new Float32Array(0);
  sin = new Float32Array(0);
  positions = 0;

  constructor(headDim: number, theta: number) {
    this.headDim = headDim;
    this.theta = theta;
  }

  ensure(positions: number): void {
    if (positions <= this.positions) return;
    const half = this.headDim / 2;
    const n = Math.max(positions, 2 * this.positions, 64);
    const cos = new Float32Array(n * half);
    const sin = new Float32Array(n * half);
    for (let i = 0; i < half; i++) {
      const freq = this.theta ** ((-2 * i) / this.headDim);
      for (let p = 0; p < n; p++) {
        const a = p * freq;
        cos[p * half + i] = Math.cos(a);
        sin[p * half + i] = Math.sin(a);
      }
    }
    this.cos = cos;
    this.sin = sin;
    this.positions = n;
  }
}

/**
 * Rotates interleaved pairs (2i, 2i+1) of every head of T rows of width `width` (= heads·headDim),
 * row t at position pos0 + t.
 */
export function applyRope(x: Float32Array, T: number, width: number, pos0: number, rope: RopeTable): void {
  const hd = rope.headDim;
  const half = hd / 2;
  const cos = rope.cos;
  const sin = rope.sin;
  for (let t = 0; t < T; t++) {
    const tb = (pos0 + t) * half;
    const ro = t * width;
    for (let h = 0; h < width; h += hd) {
      const base = ro + h;
      for (let i = 0; i < half; i++) {
        const c = cos[tb + i]!;
        const s = sin[tb + i]!;
        const j = base + 2 * i;
        const a = x[j]!;
        const b = x[j + 1]!;
        x[j] = a * c - b * s;
        x[j + 1] = a * s + b * c;
      }
    }
  }
}

/**
 * Causal grouped-query attention. q: [T, nHeads·hd] for positions pos0..pos0+T−1; kStore/vStore:
 * [positions, kvDim] holding every position up to pos0+T−1; out: [T, nHeads·hd]; scores: scratch of
 * at least pos0+T floats; acc: scratch of hd floats. Query head h reads KV head ⌊h / (nHeads/nKvHeads)⌋.
 */
export function attention(
  q: Float32Array,
  kStore: Float32Array,
  vStore: Float32Array,
  out: Float32Array,
  scores: Float64Array,
  acc: Float64Array,
  T: number,
  pos0: number,
  nHeads: number,
  nKvHeads: number,
  hd: number,
): void {
  const qDim = nHeads * hd;
  const kvDim = nKvHeads * hd;
  const group = nHeads / nKvHeads;
  const scale = 1 / Math.sqrt(hd);
  for (let t = 0; t < T; t++) {
    const len = pos0 + t + 1;
    for (let h = 0; h < nHeads; h++) {
      const qo = t * qDim + h * hd;
      const ko = ((h / group) | 0) * hd;
      let max = Number.NEGATIVE_INFINITY;
      for (let s = 0; s < len; s++) {
        const kb = s * kvDim + ko;
        let d = 0;
        for (let i = 0; i < hd; i++) d += q[qo + i]! * kStore[kb + i]!;
        d *= scale;
        scores[s] = d;
        if (d > max) max = d;
      }
      let sum = 0;
      for (let s = 0; s < len; s++) {
        const e = fastExp(scores[s]! - max);
        scores[s] = e;
        sum += e;
      }
      const inv = 1 / sum;
      const oo = t * qDim + h * hd;
      acc.fill(0, 0, hd);
      for (let s = 0; s < len; s++) {
        const p = scores[s]! * inv;
        const vb = s * kvDim + ko;
        for (let i = 0; i < hd; i++) acc[i] += p * vStore[vb + i]!;
      }
      for (let i = 0; i < hd; i++) out[oo + i] = acc[i]!;
    }
  }
}

/** gate ← silu(gate) ⊙ up, elementwise over values [from, n). */
export function swiglu(gate: Float32Array, up: Float32Array, n: number, from = 0): void {
  for (let i = from; i < n; i++) {
    const g = gate[i]!;
    gate[i] = (g / (1 + fastExp(-g))) * up[i]!;
  }
}

/** x ← x + y over n values. */
export function addInPlace(x: Float32Array, y: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) x[i] = x[i]! + y[i]!;
}
