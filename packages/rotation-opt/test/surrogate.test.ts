import { NqInputError, Rng } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { trainAdaCodec } from '../src/adacodec.js';
import { blockToDense, blockTranspose } from '../src/cayley.js';
import { activationSpec, rowQuantizer } from '../src/quantizers.js';
import { checkSurrogate, expectedErrorSurrogate, surrogateFor } from '../src/surrogate.js';

const rng = new Rng(5);
const rows = 40;
const n = 32;
const z = Float32Array.from({ length: rows * n }, (_, i) => rng.normal() * (i % n === 3 ? 5 : 1));
const w = Float64Array.from({ length: rows }, (_, t) => 1 + (t % 3));

describe('expected-error surrogate S(Z) = Σ wₜ Σ g·Mₚ(z_group)² / den', () => {
  for (const s of [surrogateFor('int4'), surrogateFor('nvfp4'), { group: 8, p: 4 }]) {
    it(`value from its definition and gradient = central finite differences (group ${s.group}, p ${s.p})`, () => {
      const den = 123.4;
      const grad = new Float32Array(rows * n);
      const v = expectedErrorSurrogate(z, rows, n, s, w, den, grad);
      // Definition, written independently: Mₚ = (Σ|z|^p)^(1/p) directly (no max rescaling).
      const g = s.group === 0 ? n : s.group;
      let ref = 0;
      for (let t = 0; t < rows; t++)
        for (let c0 = 0; c0 < n; c0 += g) {
          let sum = 0;
          for (let j = 0; j < g; j++) sum += Math.abs(z[t * n + c0 + j]!) ** s.p;
          ref += w[t]! * g * sum ** (2 / s.p);
        }
      expect(v).toBeCloseTo(ref / den, 10);
      // Finite differences in float64 on a float64 copy of a few coordinates.
      const z64 = Float64Array.from(z);
      const f = (zz: Float64Array) => expectedErrorSurrogate(Float32Array.from(zz), rows, n, s, w, den, null);
      for (const idx of [3, 35, 7 * n + 3, 7 * n + 20, 39 * n + 31]) {
        const h = 1e-2;
        const zp = Float64Array.from(z64);
        const zm = Float64Array.from(z64);
        zp[idx]! += h;
        zm[idx]! -= h;
        const fd = (f(zp) - f(zm)) / (2 * h);
        expect(Math.abs(fd - grad[idx]!)).toBeLessThan(2e-3 * Math.max(1e-3, Math.abs(grad[idx]!)) + 1e-6);
      }
    });
  }

  it('rejects a group that does not divide n and p < 2 (typed errors)', () => {
    expect(() => checkSurrogate({ group: 5, p: 12 }, 32)).toThrow(NqInputError);
    expect(() => checkSurrogate({ group: 0, p: 1 }, 32)).toThrow(/surrogate\.p/);
  });
});

describe('AdaCodec variants', () => {
  const R = 256;
  const N = 32;
  const r2 = new Rng(21);
  // Heavy-tailed channels so rotations matter.
  const x = Float32Array.from({ length: R * N }, (_, i) => r2.normal() * (i % N < 3 ? 8 : 1));
  const q = rowQuantizer(activationSpec('int4'));

  it('the expected-error surrogate lowers the real INT4 loss more than plain STE (tied and Procrustes decoders)', () => {
    const base = { block: 16, seed: 3, iterations: 25 };
    const ste = trainAdaCodec(x, R, N, q, {
      ...base,
      gradient: 'ste',
      decoder: 'ste',
      momentum: 0,
      lr: 0.02,
    });
    const tied = trainAdaCodec(x, R, N, q, { ...base, gradient: 'expected', decoder: 'tied', lr: 0.1 });
    const proc = trainAdaCodec(x, R, N, q, { ...base, gradient: 'expected', decoder: 'procrustes', lr: 0.1 });
    const gain = (r: typeof ste) => 1 - r.loss[r.best]! / r.loss[0]!;
    expect(gain(tied)).toBeGreaterThan(gain(ste));
    expect(gain(proc)).toBeGreaterThanOrEqual(gain(tied) - 0.02);
    expect(gain(tied)).toBeGreaterThan(0.05);
    // 'tied' keeps D = Eᵀ exactly.
    const d = blockToDense(tied.dec);
    const et = blockToDense(blockTranspose(tied.enc));
    for (let i = 0; i < d.length; i++) expect(d[i]).toBe(et[i]);
  });

  it('rejects unknown gradient / decoder names and bad momentum (typed errors)', () => {
    expect(() => trainAdaCodec(x, R, N, q, { block: 16, gradient: 'sgd' as never })).toThrow(/gradient/);
    expect(() => trainAdaCodec(x, R, N, q, { block: 16, decoder: 'free' as never })).toThrow(/decoder/);
    expect(() => trainAdaCodec(x, R, N, q, { block: 16, momentum: 1 })).toThrow(/momentum/);
  });
});
