import { NqInputError, Rng } from '@nq/core';
import { describe, expect, it } from 'vitest';
import {
  applyLinearCorrection,
  fitRidgeCorrection,
  momentsOf,
  quantizeCorrection,
  recoverability,
  solveRidge,
} from '../src/cpu/index.js';

/** n rows of d Gaussian channels with per-channel scales, as float32 like captured outputs. */
function gaussian(rng: Rng, n: number, d: number): Float32Array {
  const x = new Float32Array(n * d);
  for (let r = 0; r < n; r++)
    for (let i = 0; i < d; i++) x[r * d + i] = rng.normal() * (0.5 + (i % 5) * 0.3) + 0.1 * i;
  return x;
}

const ranges = (r0: number, r1: number, step: number) => {
  const out: [number, number][] = [];
  for (let r = r0; r < r1; r += step) out.push([r, Math.min(r1, r + step)]);
  return out;
};

describe('ridge correction (Q1 estimator)', () => {
  it('recovers an exactly linear error completely on held-out rows (R ≈ 1)', () => {
    const rng = new Rng(1);
    const d = 12;
    const n = 600;
    const yq = gaussian(rng, n, d);
    // Y_fp = Y_q·A + b with a dense A: the error E = Y_q·(A − I) + b is exactly linear.
    const A = Array.from(
      { length: d * d },
      (_, k) => (Math.floor(k / d) === k % d ? 1 : 0) + 0.2 * rng.normal(),
    );
    const b = Array.from({ length: d }, () => rng.normal());
    const e = new Float64Array(n * d);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < d; j++) {
        let s = b[j]!;
        for (let i = 0; i < d; i++) s += yq[r * d + i]! * A[i * d + j]!;
        e[r * d + j] = s - yq[r * d + j]!;
      }
    }
    const corr = fitRidgeCorrection(
      yq,
      e,
      d,
      d,
      [ranges(0, 150, 50), ranges(150, 300, 50), ranges(300, 450, 50)],
      [1e-10, 1e-4, 1e-2],
    );
    const R = recoverability(corr, yq, e, d, d, [[450, 600]]);
    expect(R).toBeGreaterThan(0.999999);
    expect(corr.alpha).toBe(1e-10);
  });

  it('does not recover pure noise (R ≈ 0 on held-out rows, never much above)', () => {
    const rng = new Rng(2);
    const d = 16;
    const n = 4000;
    const yq = gaussian(rng, n, d);
    const e = new Float64Array(n * d);
    for (let i = 0; i < e.length; i++) e[i] = rng.normal();
    const corr = fitRidgeCorrection(yq, e, d, d, [ranges(0, 1500, 100), ranges(1500, 3000, 100)]);
    const R = recoverability(corr, yq, e, d, d, [[3000, 4000]]);
    // A fitted map can only overfit noise: held-out R is ≤ 0 up to sampling noise of ~d²/n.
    expect(Math.abs(R)).toBeLessThan(0.02);
  });

  it('cross-validation picks the strongest shrinkage for pure noise on few rows', () => {
    const rng = new Rng(5);
    const d = 16;
    const n = 96;
    const yq = gaussian(rng, n, d);
    const e = new Float64Array(n * d);
    for (let i = 0; i < e.length; i++) e[i] = rng.normal();
    const corr = fitRidgeCorrection(yq, e, d, d, [ranges(0, 32, 16), ranges(32, 64, 16), ranges(64, 96, 16)]);
    expect(corr.alpha).toBe(10);
  });

  it('closed form equals a direct solve of the augmented, penalised normal equations', () => {
    const rng = new Rng(3);
    const d = 7;
    const m = 5;
    const n = 40;
    const x = gaussian(rng, n, d);
    const e = new Float64Array(n * m);
    for (let i = 0; i < e.length; i++) e[i] = rng.normal() + 0.3 * x[Math.floor(i / m) * d + (i % d)]!;
    const alpha = 0.05;
    const fit = solveRidge(momentsOf(x, e, d, m, [[0, n]]), alpha);

    // Independent: Z = [X, 1] (n × (d+1)); minimise ‖E − Z·W‖² + λ‖W[0:d]‖² → (ZᵀZ + diag(λ,…,λ,0))·W = ZᵀE,
    // λ = α·tr(centred XᵀX)/d; solved by Gauss–Jordan elimination with partial pivoting.
    const p = d + 1;
    const mean = Array.from({ length: d }, (_, i) => {
      let s = 0;
      for (let r = 0; r < n; r++) s += x[r * d + i]!;
      return s / n;
    });
    let tr = 0;
    for (let i = 0; i < d; i++) for (let r = 0; r < n; r++) tr += (x[r * d + i]! - mean[i]!) ** 2;
    const lambda = (alpha * tr) / d;
    const z = (r: number, i: number) => (i < d ? x[r * d + i]! : 1);
    const M: number[][] = [];
    for (let i = 0; i < p; i++) {
      const row: number[] = [];
      for (let k = 0; k < p; k++) {
        let s = i === k && i < d ? lambda : 0;
        for (let r = 0; r < n; r++) s += z(r, i) * z(r, k);
        row.push(s);
      }
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let r = 0; r < n; r++) s += z(r, i) * e[r * m + j]!;
        row.push(s);
      }
      M.push(row);
    }
    for (let c = 0; c < p; c++) {
      let piv = c;
      for (let r = c + 1; r < p; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[piv]![c]!)) piv = r;
      [M[c], M[piv]] = [M[piv]!, M[c]!];
      for (let r = 0; r < p; r++) {
        if (r === c) continue;
        const f = M[r]![c]! / M[c]![c]!;
        for (let k = c; k < p + m; k++) M[r]![k]! -= f * M[c]![k]!;
      }
    }
    for (let i = 0; i < p; i++) {
      for (let j = 0; j < m; j++) {
        const w = M[i]![p + j]! / M[i]![i]!;
        const got = i < d ? fit.B[i * m + j]! : fit.bias[j]!;
        expect(got).toBeCloseTo(w, 10);
      }
    }
    expect(fit.lambda).toBeCloseTo(lambda, 10);
  });

  it('moments of disjoint row sets add up to the moments of their union', () => {
    const rng = new Rng(4);
    const x = gaussian(rng, 30, 4);
    const e = gaussian(rng, 30, 3);
    const a = solveRidge(momentsOf(x, e, 4, 3, [[0, 30]]), 0.01);
    const b = solveRidge(
      momentsOf(x, e, 4, 3, [
        [0, 11],
        [11, 30],
      ]),
      0.01,
    );
    for (let i = 0; i < a.B.length; i++) expect(b.B[i]).toBeCloseTo(a.B[i]!, 12);
  });

  it('applyLinearCorrection computes y + y·B + bias', () => {
    const corr = {
      d: 2,
      m: 2,
      B: Float64Array.from([0.5, 0, 0, -1]),
      bias: Float64Array.from([1, 2]),
      alpha: 0,
      lambda: 0,
    };
    const y = Float32Array.from([2, 3, -1, 4]);
    applyLinearCorrection(corr, y, 2);
    // Row (2, 3): (2 + 1 + 1, 3 − 3 + 2) ; row (−1, 4): (−1 − 0.5 + 1, 4 − 4 + 2).
    expect(Array.from(y)).toEqual([4, 2, -0.5, 2]);
  });

  it('4-bit map quantization follows per-output-channel symmetric RTN (residual and map forms)', () => {
    // B [d=2, m=2]; output channel j is column j: (B00, B10) = (0.7, −0.1), (B01, B11) = (0.03, 0.3).
    const corr = {
      d: 2,
      m: 2,
      B: Float64Array.from([0.7, 0.03, -0.1, 0.3]),
      bias: Float64Array.from([0, 0]),
      alpha: 0,
      lambda: 0,
    };
    const q = quantizeCorrection(corr, 4, 'residual');
    // Column 0: s = 0.7/7 = 0.1 → 0.7, −0.1 exactly representable. Column 1: s = 0.3/7, 0.03/s = 0.7 → 1 → s.
    const s1 = Math.fround(0.3 / 7);
    expect(q.B[0]).toBeCloseTo(0.7, 6);
    expect(q.B[2]).toBeCloseTo(-0.1, 6);
    expect(q.B[1]).toBeCloseTo(s1, 6);
    expect(q.B[3]).toBeCloseTo(0.3, 6);
    // Map form quantizes A = I + B: column 0 = (1.7, −0.1): s = 1.7/7, −0.1/s = −0.41 → 0 → B00 = 1.7 − 1, B10 = −0.
    const qm = quantizeCorrection(corr, 4, 'map');
    expect(qm.B[0]).toBeCloseTo(0.7, 6);
    expect(qm.B[2]).toBeCloseTo(0, 6);
  });

  it('rejects a negative alpha and too few rows with typed errors', () => {
    const mo = momentsOf(new Float32Array(8), new Float64Array(8), 2, 2, [[0, 4]]);
    expect(() => solveRidge(mo, -1)).toThrow(NqInputError);
    expect(() =>
      solveRidge(momentsOf(new Float32Array(2), new Float64Array(2), 2, 2, [[0, 1]]), 0.1),
    ).toThrow(/rows/);
    expect(() => fitRidgeCorrection(new Float32Array(8), new Float64Array(8), 2, 2, [[[0, 4]]], [])).toThrow(
      /alphas/,
    );
    expect(() => fitRidgeCorrection(new Float32Array(8), new Float64Array(8), 2, 2, [])).toThrow(/folds/);
  });
});
