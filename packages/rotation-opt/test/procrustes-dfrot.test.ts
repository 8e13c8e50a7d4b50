import { NqInputError, Rng } from '@nq/core';
import { randomHadamard, randomOrthogonal, toDense } from '@nq/hadamard';
import { describe, expect, it } from 'vitest';
import { orthogonalityError } from '../src/cpu/dense64.js';
import { procrustes, weightedCross } from '../src/cpu/procrustes.js';
import { rotateRows } from '../src/cpu/rotate-rows.js';
import { procrustesStep, refineDfrot, weightedQuantLoss } from '../src/dfrot.js';
import { findMassive, tokenWeights } from '../src/massive.js';
import { activationSpec, rowQuantizer } from '../src/quantizers.js';

/** Σ wₜ‖xₜR − yₜ‖² in float64, written from the definition. */
function objective(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  r: ArrayLike<number>,
  rows: number,
  n: number,
  w: ArrayLike<number> | null,
): number {
  let s = 0;
  for (let t = 0; t < rows; t++) {
    for (let j = 0; j < n; j++) {
      let v = 0;
      for (let i = 0; i < n; i++) v += x[t * n + i]! * r[i * n + j]!;
      s += (w ? w[t]! : 1) * (v - y[t * n + j]!) ** 2;
    }
  }
  return s;
}

/** LLM-like activations: Gaussian tokens, a few with one huge channel (massive tokens). */
function activations(rows: number, n: number, seed: number, massive: number[]): Float32Array {
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: rows * n }, () => rng.normal());
  for (const t of massive) x[t * n + 3] = 200;
  return x;
}

describe('orthogonal Procrustes', () => {
  it('recovers a planted rotation and beats every other orthogonal candidate on the weighted objective', () => {
    const rows = 300;
    const n = 16;
    const rng = new Rng(3);
    const x = Float64Array.from({ length: rows * n }, () => rng.normal());
    const q = toDense(randomOrthogonal(n, 9)).data;
    const y = new Float64Array(rows * n);
    for (let t = 0; t < rows; t++)
      for (let j = 0; j < n; j++) {
        let v = 0;
        for (let i = 0; i < n; i++) v += x[t * n + i]! * q[i * n + j]!;
        y[t * n + j] = v + 0.01 * rng.normal();
      }
    const w = Float64Array.from({ length: rows }, (_, t) => (t % 10 === 0 ? 50 : 1));
    const r = procrustes(weightedCross(x, y, rows, n, w), n);
    expect(orthogonalityError(r, n, n)).toBeLessThan(1e-12);
    let diff = 0;
    for (let i = 0; i < n * n; i++) diff = Math.max(diff, Math.abs(r[i]! - q[i]!));
    expect(diff).toBeLessThan(0.01);
    const best = objective(x, y, r, rows, n, w);
    expect(best).toBeLessThanOrEqual(objective(x, y, q, rows, n, w) * (1 + 1e-12));
    for (let s = 0; s < 5; s++)
      expect(best).toBeLessThan(objective(x, y, toDense(randomOrthogonal(n, 100 + s)).data, rows, n, w));
  });
});

describe('DFRot', () => {
  const rows = 256;
  const n = 32;
  const x = activations(rows, n, 11, [0, 57, 200]);
  const quant = rowQuantizer(activationSpec('int4'));

  it('finds the planted massive tokens and the channel that carries them', () => {
    const m = findMassive(x, rows, n, { tau: 10 });
    expect(m.count).toBe(3);
    expect([...m.mask].flatMap((v, t) => (v ? [t] : []))).toEqual([0, 57, 200]);
    expect(m.channels).toEqual([{ channel: 3, tokens: 3 }]);
    expect(findMassive(x, rows, n, { tau: 1000 }).count).toBe(0);
    expect(() => findMassive(x, rows, n, { tau: -1 })).toThrow(/rule\.tau/);
  });

  it('a Procrustes step returns an orthogonal matrix that does not increase the weighted loss to the fixed quantized targets', () => {
    const w = tokenWeights(findMassive(x, rows, n).mask, 100);
    for (const init of [toDense(randomHadamard(n, 1)).data, toDense(randomOrthogonal(n, 2)).data]) {
      const z = rotateRows(x, rows, n, init);
      const zq = new Float32Array(z.length);
      quant(z, rows, n, zq);
      const r = procrustesStep(x, zq, rows, n, w);
      expect(orthogonalityError(r, n, n)).toBeLessThan(1e-12);
      const before = objective(x, zq, init, rows, n, w);
      const after = objective(x, zq, r, rows, n, w);
      expect(after).toBeLessThanOrEqual(before * (1 + 1e-9));
      expect(after).toBeLessThan(before); // strictly better here: the random init is not the minimiser
    }
  });

  it('refinement records a loss curve, returns its best orthogonal iterate, and lowers the weighted INT4 loss from RO and RH', () => {
    const w = tokenWeights(findMassive(x, rows, n).mask, 100);
    for (const init of [toDense(randomHadamard(n, 1)).data, toDense(randomOrthogonal(n, 2)).data]) {
      const res = refineDfrot(x, rows, n, init, quant, { iterations: 8, weights: w });
      expect(res.loss).toHaveLength(9);
      expect(orthogonalityError(res.r, n, n)).toBeLessThan(1e-10);
      expect(res.loss[res.best]).toBe(Math.min(...res.loss));
      // The returned R's loss, recomputed independently of the loop.
      expect(weightedQuantLoss(x, rows, n, res.r, quant, w)).toBeCloseTo(res.loss[res.best]!, 6);
      expect(res.loss[res.best]!).toBeLessThan(res.loss[0]!);
    }
  });

  it('rejects bad input with typed errors', () => {
    expect(() => refineDfrot(x, rows, n, new Float64Array(10), quant)).toThrow(NqInputError);
    const notOrth = new Float64Array(n * n).fill(1);
    expect(() => refineDfrot(x, rows, n, notOrth, quant)).toThrow(/init.*not orthogonal/);
    expect(() =>
      refineDfrot(x, rows, n, toDense(randomHadamard(n, 1)).data, quant, { weights: new Float64Array(3) }),
    ).toThrow(/weights/);
    expect(() => tokenWeights(new Uint8Array(2), Number.NaN)).toThrow(/gamma/);
  });
});

describe('DFRot fast path', () => {
  it('the float32-GEMM path follows the float64 path (same loss curve to 1e-4 relative)', async () => {
    const { defaultWasmGemm, gemmABt } = await import('@nq/model/cpu');
    const rows = 256;
    const n = 32;
    const x = activations(rows, n, 5, [9]);
    const quant = rowQuantizer(activationSpec('int4'));
    const init = toDense(randomHadamard(n, 1)).data;
    const ref = refineDfrot(x, rows, n, init, quant, { iterations: 3 });
    const fast = refineDfrot(x, rows, n, init, quant, {
      iterations: 3,
      gemm: defaultWasmGemm()?.gemm ?? gemmABt,
    });
    for (let i = 0; i < ref.loss.length; i++)
      expect(Math.abs(fast.loss[i]! - ref.loss[i]!) / ref.loss[i]!).toBeLessThan(1e-4);
  });
});
