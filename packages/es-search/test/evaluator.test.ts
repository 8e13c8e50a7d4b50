import { NqInputError, Rng } from '@nq/core';
import { blockHadamard, cascade, randomHadamard, toDense } from '@nq/hadamard';
import { errorStats, fakeQuantInt, gemmError } from '@nq/quant-int4';
import { describe, expect, it } from 'vitest';
import { CpuErrorEvaluator, fakeQuantRowsSym } from '../src/cpu/index.js';
import { denseRotate, gaussian, outlierActivations } from './helpers.js';

describe('fakeQuantRowsSym', () => {
  for (const bits of [4, 8]) {
    it(`equals @nq/quant-int4 fakeQuantInt (int${bits}, per token) bit for bit, and its error sums`, () => {
      const x = outlierActivations(33, 96, 5);
      // A zero row and exact ties x/s = k + ½ exercise the edge cases.
      x.data.fill(0, 0, 96);
      const ref = fakeQuantInt(x, { format: 'int', bits, granularity: 'token', symmetric: true });
      const mine = x.data.slice();
      const sums = fakeQuantRowsSym(mine, x.rows, x.cols, bits);
      expect(Array.from(mine)).toEqual(Array.from(ref.data));
      const st = errorStats(x.data, ref.data);
      expect(sums.sse).toBeCloseTo(st.sse, 9);
      expect(sums.signal).toBeCloseTo(st.signal, 6);
    });
  }
  it('rounds exact halves to even', () => {
    // Row max 7 → s = 1; 2.5 → 2, 3.5 → 4, −2.5 → −2.
    const d = Float32Array.of(7, 2.5, 3.5, -2.5);
    fakeQuantRowsSym(d, 1, 4, 4);
    expect(Array.from(d)).toEqual([7, 2, 4, -2]);
  });
});

describe('CpuErrorEvaluator', () => {
  const x = outlierActivations(48, 64, 1);
  const w = gaussian(40, 64, 2);
  const specs = [
    blockHadamard(64, 1),
    randomHadamard(64, 3),
    blockHadamard(64, 16, 4),
    cascade(blockHadamard(64, 8, 5), blockHadamard(64, 32, 6)),
  ];

  it('int4/int8 error = relative MSE of per-token fake-quant of x·R (dense R, quant-int4 quantizer)', () => {
    for (const target of ['int4', 'int8'] as const) {
      const ev = new CpuErrorEvaluator(x, null, target);
      for (const spec of specs) {
        const xr = denseRotate(x, toDense(spec));
        const q = fakeQuantInt(xr, { format: 'int', bits: target === 'int4' ? 4 : 8, granularity: 'token' });
        const st = errorStats(xr.data, q.data);
        // FWHT and dense products round differently (~1e-7), which can move a value across a rounding boundary.
        expect(ev.error(spec)).toBeCloseTo(st.sse / st.signal, 4);
        expect(Math.abs(ev.error(spec) / (st.sse / st.signal) - 1)).toBeLessThan(2e-3);
      }
    }
  });

  it('w4a4 error = relative GEMM error of quant-int4 gemmError with the same rotation and quantizers', () => {
    const ev = new CpuErrorEvaluator(x, w, 'w4a4');
    for (const spec of specs) {
      const r = toDense(spec);
      const rep = gemmError(x, w, {
        rotate: (m) => denseRotate(m, r),
        activation: { format: 'int', bits: 4, granularity: 'token' },
        weight: { format: 'int', bits: 4, granularity: 'token' },
      });
      expect(Math.abs(ev.error(spec) / (rep.gemm.sse / rep.gemm.signal) - 1)).toBeLessThan(5e-3);
    }
  });

  it('a random Hadamard lowers the int4 error of outlier-heavy activations (the premise of the search)', () => {
    const ev = new CpuErrorEvaluator(x, null, 'int4');
    expect(ev.error(randomHadamard(64, 9))).toBeLessThan(0.5 * ev.error(blockHadamard(64, 1)));
  });

  it('batch errors equal single errors and count evaluations', () => {
    const ev = new CpuErrorEvaluator(x, w, 'w4a4');
    const batch = ev.errors(specs);
    expect(Array.from(batch)).toEqual(specs.map((s) => ev.error(s)));
    expect(ev.evaluations).toBe(2 * specs.length);
  });

  it('rejects bad input with typed errors naming the argument', () => {
    expect(() => new CpuErrorEvaluator(x, null, 'int3' as never)).toThrow(NqInputError);
    expect(() => new CpuErrorEvaluator(x, null, 'w4a4')).toThrow(/w/);
    expect(() => new CpuErrorEvaluator(x, gaussian(4, 32, 1), 'w4a4')).toThrow(/input channels/);
    const bad = outlierActivations(4, 64, 1);
    bad.data[70] = Number.NaN;
    expect(() => new CpuErrorEvaluator(bad, null, 'int8')).toThrow(NqInputError);
    const ev = new CpuErrorEvaluator(x, null, 'int8');
    expect(() => ev.error(randomHadamard(32, 1))).toThrow(/spec.dim/);
    void Rng;
  });
});
