import { Rng } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { fastExp } from '../src/cpu/fast-exp.js';
import { RopeTable } from '../src/cpu/ops.js';
import { wasmOps } from '../src/cpu/wasm/wasm-ops.js';

// Expectations come from the definitions evaluated in float64 with Math.exp.
const rng = new Rng(21);

describe('element-wise kernels of prefill', () => {
  it('fastExp matches Math.exp to 1e-8 relative over [-700, 700], and at the edges', () => {
    let worst = 0;
    for (let i = 0; i < 20000; i++) {
      const x = (rng.uniform() - 0.5) * 1400;
      worst = Math.max(worst, Math.abs(fastExp(x) - Math.exp(x)) / Math.exp(x));
    }
    expect(worst).toBeLessThan(1e-8);
    expect(fastExp(0)).toBe(1);
    expect(fastExp(Number.NEGATIVE_INFINITY)).toBeLessThan(1e-300);
    expect(fastExp(1e6)).toBeGreaterThan(1e300);
    expect(fastExp(Number.NaN)).toBeNaN();
  });

  const ops = wasmOps();
  it('WebAssembly SIMD ops are available (Node ≥ 20)', () => {
    expect(ops).not.toBeNull();
  });

  it.each([
    [1, 3, 8, 0],
    [7, 4, 12, 0],
    [5, 2, 12, 6],
    [33, 1, 36, 2],
  ])('causal softmax rows (%i positions × %i heads, spad=%i, base=%i) = definition, exact zeros past the limit', (P, group, spad, base) => {
    const rows = P * group;
    const sc = rng.normals(rows * spad).map((v) => v * 6);
    const ref = new Float64Array(rows * spad);
    for (let r = 0; r < rows; r++) {
      const len = base + Math.floor(r / group) + 1;
      let max = Number.NEGATIVE_INFINITY;
      for (let p = 0; p < len; p++) max = Math.max(max, sc[r * spad + p]!);
      let sum = 0;
      for (let p = 0; p < len; p++) sum += Math.exp(sc[r * spad + p]! - max);
      for (let p = 0; p < len; p++) ref[r * spad + p] = Math.exp(sc[r * spad + p]! - max) / sum;
    }
    ops!.softmaxRows(sc, rows, spad, group, base);
    // float32 arithmetic (exp, sum, 1/sum, product): a few ulp relative.
    for (let i = 0; i < sc.length; i++) {
      if (ref[i] === 0) expect(sc[i], `index ${i}`).toBe(0);
      else
        expect(Math.abs(sc[i]! - ref[i]!), `index ${i}`).toBeLessThan(5e-7 * Math.max(ref[i]!, 1e-3) + 1e-9);
    }
  });

  it('SwiGLU silu(g)·u = definition (n not a multiple of 4: JS tail), finite for |g| up to 200', () => {
    const n = 4099;
    const g = rng.normals(n).map((v, i) => (i % 97 === 0 ? (i % 2 ? 200 : -200) : v * 8));
    const u = rng.normals(n);
    const ref = Float64Array.from(g, (x, i) => (x / (1 + Math.exp(-x))) * u[i]!);
    ops!.swiglu(g, u, n, (gg, uu, from, to) => {
      for (let i = from; i < to; i++) gg[i] = (gg[i]! / (1 + Math.exp(-gg[i]!))) * uu[i]!;
    });
    for (let i = 0; i < n; i++) {
      expect(Number.isFinite(g[i]!), `index ${i}`).toBe(true);
      // float32 exp of a float32 argument: ≤ 2e-6 relative for |g| ≤ 30, plus an absolute floor.
      expect(Math.abs(g[i]! - ref[i]!), `index ${i}: g=${g[i]}`).toBeLessThan(
        2e-6 * Math.abs(ref[i]!) + 1e-12,
      );
    }
  });

  /** Causal GQA attention in float64 from the definition: softmax(q·kᵀ/√hd) over positions ≤ own. */
  function attentionRef(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    T: number,
    base: number,
    nHeads: number,
    nKv: number,
    hd: number,
  ): Float64Array {
    const out = new Float64Array(T * nHeads * hd);
    const group = nHeads / nKv;
    for (let t = 0; t < T; t++) {
      const len = base + t + 1;
      for (let h = 0; h < nHeads; h++) {
        const g = Math.floor(h / group);
        const s = new Float64Array(len);
        for (let p = 0; p < len; p++) {
          let d = 0;
          for (let i = 0; i < hd; i++) d += q[(t * nHeads + h) * hd + i]! * k[(p * nKv + g) * hd + i]!;
          s[p] = d / Math.sqrt(hd);
        }
        const max = Math.max(...s);
        let sum = 0;
        for (let p = 0; p < len; p++) sum += Math.exp(s[p]! - max);
        for (let p = 0; p < len; p++) {
          const w = Math.exp(s[p]! - max) / sum;
          for (let i = 0; i < hd; i++) out[(t * nHeads + h) * hd + i] += w * v[(p * nKv + g) * hd + i]!;
        }
      }
    }
    return out;
  }

  it.each([
    // T, base (cached positions before), nHeads, nKvHeads, hd
    [1, 0, 1, 1, 8], // a single query
    [3, 0, 1, 1, 8], // fewer rows than one 4-row block
    [5, 0, 4, 2, 8], // group 2: a block spans positions
    [17, 4, 8, 2, 32], // group 4, after a cache; last block partial
    [9, 30, 6, 3, 16], // 9 positions over 39 keys, spad padding
    [33, 0, 4, 4, 64], // no grouping, LLaMA-7B head size
  ])('causal GQA attention kernel (T=%i, base=%i, %i heads / %i KV, hd=%i) = float64 definition', (T, base, nHeads, nKv, hd) => {
    const S = base + T;
    const q = rng.normals(T * nHeads * hd).map((x) => x * 2);
    const k = rng.normals(S * nKv * hd);
    const v = rng.normals(S * nKv * hd);
    // Poison past the S rows: the kernel must not read them.
    const kStore = new Float32Array((S + 5) * nKv * hd).fill(Number.NaN);
    const vStore = kStore.slice();
    kStore.set(k);
    vStore.set(v);
    const out = new Float32Array(T * nHeads * hd);
    ops!.attention(q, kStore, vStore, out, T, base, nHeads, nKv, hd);
    const ref = attentionRef(q, k, v, T, base, nHeads, nKv, hd);
    let worst = 0;
    for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i]! - ref[i]!));
    // Outputs are convex combinations of N(0,1) values; float32 dot products of length ≤ 64.
    expect(worst).toBeLessThan(2e-6);
  });

  it('residual add + RMSNorm = definition (x updated in place; without y: the norm alone)', () => {
    const T = 5;
    const dim = 36;
    const eps = 1e-5;
    const x0 = rng.normals(T * dim).map((v) => v * 3);
    const y = rng.normals(T * dim);
    const w = rng.normals(dim);
    const norm = (xs: ArrayLike<number>) => {
      const out = new Float64Array(T * dim);
      for (let t = 0; t < T; t++) {
        let ss = 0;
        for (let i = 0; i < dim; i++) ss += xs[t * dim + i]! ** 2;
        const inv = 1 / Math.sqrt(ss / dim + eps);
        for (let i = 0; i < dim; i++) out[t * dim + i] = xs[t * dim + i]! * inv * w[i]!;
      }
      return out;
    };
    const sum = Float64Array.from(x0, (v, i) => v + y[i]!);
    const x = x0.slice();
    const out = new Float32Array(T * dim);
    ops!.addRmsNorm(x, y, w, out, T, dim, eps);
    const ref = norm(sum);
    for (let i = 0; i < x.length; i++) {
      expect(Math.abs(x[i]! - sum[i]!), `x ${i}`).toBeLessThan(1e-6 * Math.abs(sum[i]!) + 1e-7);
      expect(Math.abs(out[i]! - ref[i]!), `out ${i}`).toBeLessThan(2e-6 * Math.abs(ref[i]!) + 1e-6);
    }
    const alone = x0.slice();
    ops!.addRmsNorm(alone, null, w, out, T, dim, eps);
    expect(Array.from(alone)).toEqual(Array.from(x0));
    const ref0 = norm(x0);
    for (let i = 0; i < out.length; i++)
      expect(Math.abs(out[i]! - ref0[i]!), `out ${i}`).toBeLessThan(2e-6 * Math.abs(ref0[i]!) + 1e-6);
  });

  it.each([
    [8, 16, 0],
    [32, 256, 37],
    [64, 128, 5],
  ])('RoPE kernel (hd=%i, width=%i, from position %i) = rotation of interleaved pairs by pos·θ^(−2i/hd)', (hd, width, pos0) => {
    const T = 7;
    const theta = 10000;
    const table = new RopeTable(hd, theta);
    table.ensure(pos0 + T);
    const x0 = rng.normals(T * width);
    const x = x0.slice();
    ops!.rope(x, T, width, hd, pos0, table.cos, table.sin);
    let worst = 0;
    for (let t = 0; t < T; t++)
      for (let h = 0; h < width; h += hd)
        for (let i = 0; i < hd / 2; i++) {
          const ang = (pos0 + t) * theta ** ((-2 * i) / hd);
          const j = t * width + h + 2 * i;
          const [a, b] = [x0[j]!, x0[j + 1]!];
          worst = Math.max(
            worst,
            Math.abs(x[j]! - (a * Math.cos(ang) - b * Math.sin(ang))),
            Math.abs(x[j + 1]! - (a * Math.sin(ang) + b * Math.cos(ang))),
          );
        }
    // float32 tables (angles up to 43 rad) and products
    expect(worst).toBeLessThan(2e-5);
  });
});
