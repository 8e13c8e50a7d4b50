import { type Matrix, matmulABt } from '@nq/core';
import type { LoadedModel } from '../../src/types.js';

/**
 * A deliberately plain LLaMA forward written from the definitions, for cross-checking the fast
 * path on small models: float64 everywhere, RoPE as complex multiplication of (x[2i], x[2i+1]) by
 * e^{i·pos·θ^(−2i/hd)}, attention as explicit softmax over every earlier position.
 */
export function naiveForward(m: LoadedModel, tokens: number[]): Float64Array {
  const c = m.config;
  const hd = c.dim / c.nHeads;
  const rows = (mat: Matrix, r: number) => Array.from(mat.data.subarray(r * mat.cols, (r + 1) * mat.cols));
  const norm = (v: number[], w: Float32Array) => {
    const ms = v.reduce((a, b) => a + b * b, 0) / v.length;
    return v.map((x, i) => (x / Math.sqrt(ms + c.normEps)) * w[i]!);
  };
  const lin = (x: number[][], w: Matrix) => {
    const y = matmulABt({ rows: x.length, cols: w.cols, data: Float32Array.from(x.flat()) }, w);
    return Array.from({ length: x.length }, (_, t) =>
      Array.from(y.data.subarray(t * w.rows, (t + 1) * w.rows)),
    );
  };
  const rope = (v: number[], pos: number) => {
    const out = v.slice();
    for (let h = 0; h < v.length / hd; h++)
      for (let i = 0; i < hd / 2; i++) {
        const ang = pos * c.ropeTheta ** (-(2 * i) / hd);
        const re = v[h * hd + 2 * i]!;
        const im = v[h * hd + 2 * i + 1]!;
        out[h * hd + 2 * i] = re * Math.cos(ang) - im * Math.sin(ang);
        out[h * hd + 2 * i + 1] = re * Math.sin(ang) + im * Math.cos(ang);
      }
    return out;
  };
  let x = tokens.map((id) => rows(m.weights.tokenEmbedding, id));
  for (const L of m.weights.layers) {
    const xn = x.map((v) => norm(v, L.attnNorm));
    const q = lin(xn, L.q).map((v, t) => rope(v, t));
    const k = lin(xn, L.k).map((v, t) => rope(v, t));
    const v = lin(xn, L.v);
    const att = q.map((qt, t) => {
      const out: number[] = [];
      for (let h = 0; h < c.nHeads; h++) {
        const g = Math.floor(h / (c.nHeads / c.nKvHeads));
        const s = Array.from({ length: t + 1 }, (_, j) => {
          let d = 0;
          for (let i = 0; i < hd; i++) d += qt[h * hd + i]! * k[j]![g * hd + i]!;
          return d / Math.sqrt(hd);
        });
        const mx = Math.max(...s);
        const e = s.map((z) => Math.exp(z - mx));
        const sum = e.reduce((a, b) => a + b, 0);
        for (let i = 0; i < hd; i++) out.push(e.reduce((a, p, j) => a + (p / sum) * v[j]![g * hd + i]!, 0));
      }
      return out;
    });
    const o = lin(att, L.o);
    x = x.map((r, t) => r.map((val, i) => val + o[t]![i]!));
    const xn2 = x.map((r) => norm(r, L.ffnNorm));
    const g = lin(xn2, L.gate);
    const u = lin(xn2, L.up);
    const hmid = g.map((r, t) => r.map((z, i) => (z / (1 + Math.exp(-z))) * u[t]![i]!));
    const d = lin(hmid, L.down);
    x = x.map((r, t) => r.map((val, i) => val + d[t]![i]!));
  }
  const logits = lin(
    x.map((r) => norm(r, m.weights.finalNorm)),
    m.weights.output,
  );
  return Float64Array.from(logits.flat());
}
