import { type Matrix, NqInputError } from '@nq/core';
import type { ActQuant, WeightQuant } from './spec.js';

/*
 * The fake-quantizers the recipes need, written from the definitions in issue 7 (kept here so the
 * recipe names mean exactly that, whatever options a general quantizer package grows). All math in
 * float64, results stored as float32, rounding half to even.
 */

/** Round half to even. Math.round rounds halves up; step back to the even neighbour when it did. */
export function rint(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

/** Symmetric fake-quant of src[off..off+n) with scale s into dst (s = 0 copies). */
function symRange(
  src: Float32Array,
  dst: Float32Array,
  off: number,
  n: number,
  s: number,
  qmin: number,
  qmax: number,
): void {
  if (!(s > 0)) {
    if (dst !== src) dst.set(src.subarray(off, off + n), off);
    return;
  }
  const inv = 1 / s;
  for (let i = off; i < off + n; i++) {
    let q = rint(src[i]! * inv);
    if (q > qmax) q = qmax;
    else if (q < qmin) q = qmin;
    dst[i] = q * s;
  }
}

function absMax(a: Float32Array, off: number, n: number): number {
  let m = 0;
  for (let i = off; i < off + n; i++) {
    const v = Math.abs(a[i]!);
    if (v > m) m = v;
  }
  return m;
}

/** Σ|fq(x) − x|^norm over a range for symmetric scale s (the clip-search objective). */
function symError(
  src: Float32Array,
  off: number,
  n: number,
  s: number,
  qmin: number,
  qmax: number,
  norm: number,
): number {
  const inv = 1 / s;
  let e = 0;
  for (let i = off; i < off + n; i++) {
    const x = src[i]!;
    let q = rint(x * inv);
    if (q > qmax) q = qmax;
    else if (q < qmin) q = qmin;
    e += Math.abs(Math.fround(q * s) - x) ** norm;
  }
  return e;
}

/** Fake-quantizes a weight matrix [out, in] per output row or per group of a row; returns a new matrix. */
export function fakeQuantWeight(w: Matrix, spec: WeightQuant, name = 'weight'): Matrix {
  const out = new Float32Array(w.data.length);
  const { rows, cols } = w;
  const src = w.data;
  if (spec.granularity === 'group') {
    const g = spec.groupSize!;
    if (cols % g !== 0) {
      throw new NqInputError(
        'recipe.weights.groupSize',
        `${g} does not divide the ${cols} input channels of ${name}`,
        "Pick a group size that divides every block linear's input size.",
      );
    }
    for (let r = 0; r < rows; r++)
      for (let c0 = 0; c0 < cols; c0 += g) quantGroup(src, out, r * cols + c0, g, spec);
    return { rows, cols, data: out };
  }
  for (let r = 0; r < rows; r++) quantGroup(src, out, r * cols, cols, spec);
  return { rows, cols, data: out };
}

function quantGroup(src: Float32Array, dst: Float32Array, off: number, n: number, spec: WeightQuant): void {
  const b = spec.bits;
  if (!spec.symmetric) {
    // s = (max−min)/(2^b−1), z = round(−min/s), q = clamp(round(w/s)+z, 0, 2^b−1), ŵ = (q−z)·s.
    let mn = src[off]!;
    let mx = mn;
    for (let i = off + 1; i < off + n; i++) {
      const v = src[i]!;
      if (v < mn) mn = v;
      if (v > mx) mx = v;
    }
    if (mx === mn) {
      dst.set(src.subarray(off, off + n), off);
      return;
    }
    const levels = 2 ** b - 1;
    const s = (mx - mn) / levels;
    const z = rint(-mn / s);
    for (let i = off; i < off + n; i++) {
      let q = rint(src[i]! / s) + z;
      if (q < 0) q = 0;
      else if (q > levels) q = levels;
      dst[i] = (q - z) * s;
    }
    return;
  }
  const qmax = 2 ** (b - 1) - 1;
  const qmin = -(2 ** (b - 1));
  const amax = absMax(src, off, n);
  let s = amax / qmax;
  const cs = spec.clipSearch;
  if (cs && amax > 0) {
    let best = Number.POSITIVE_INFINITY;
    const steps = Math.floor(cs.maxShrink * cs.grid);
    for (let i = 0; i < steps; i++) {
      const sp = ((1 - i / cs.grid) * amax) / qmax;
      const e = symError(src, off, n, sp, qmin, qmax, cs.norm);
      if (e < best) {
        best = e;
        s = sp;
      }
    }
  }
  symRange(src, dst, off, n, s, qmin, qmax);
}

/**
 * Dynamic symmetric activation fake-quant of x [T, n] into out (may be x itself): one scale per
 * token (row) or one for the whole matrix; s = clipRatio·max|x|/(2^(b−1)−1).
 */
export function fakeQuantActivations(
  x: Float32Array,
  T: number,
  n: number,
  spec: ActQuant,
  out: Float32Array,
): void {
  const qmax = 2 ** (spec.bits - 1) - 1;
  const qmin = -(2 ** (spec.bits - 1));
  const clip = spec.clipRatio ?? 1;
  if (spec.granularity === 'tensor') {
    symRange(x, out, 0, T * n, (clip * absMax(x, 0, T * n)) / qmax, qmin, qmax);
    return;
  }
  for (let t = 0; t < T; t++) symRange(x, out, t * n, n, (clip * absMax(x, t * n, n)) / qmax, qmin, qmax);
}

/** Symmetric b-bit fake-quant of one vector in place (the KV-cache rows). */
export function fakeQuantRowInPlace(row: Float32Array, bits: number): void {
  const qmax = 2 ** (bits - 1) - 1;
  symRange(row, row, 0, row.length, absMax(row, 0, row.length) / qmax, -(2 ** (bits - 1)), qmax);
}
