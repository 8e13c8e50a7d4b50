import { matrix, NqInputError, Rng } from '@nq/core';
import { gemmABt } from '@nq/model/cpu';
import { describe, expect, it } from 'vitest';
import { choleskyLowerInPlace, HessianAccumulator, hessianOf, upperCholeskyOfInverse } from '../src/index.js';
import { correlatedInputs, naiveHessian, solve } from './helpers.js';

describe('HessianAccumulator', () => {
  const x = correlatedInputs(203, 37, 1); // 203 rows: exercises the 4-row path and the tail

  it('equals 2·XᵀX/N from the definition (float64)', () => {
    const h = hessianOf(x);
    const ref = naiveHessian(x);
    let worst = 0;
    for (let i = 0; i < ref.length; i++)
      worst = Math.max(worst, Math.abs(h.data[i]! - ref[i]!) / Math.abs(ref[i]! || 1));
    expect(worst).toBeLessThan(1e-12);
    expect(h.samples).toBe(203);
  });

  it('merging accumulators of two batches equals one accumulator over both', () => {
    const a = new HessianAccumulator(37);
    a.addRows(x.data, 100);
    const b = new HessianAccumulator(37);
    b.addRows(x.data, 103, 100 * 37);
    const merged = a.merge(b).finalize();
    const whole = hessianOf(x);
    for (let i = 0; i < whole.data.length; i++) expect(merged.data[i]).toBeCloseTo(whole.data[i]!, 10);
    expect(merged.samples).toBe(203);
  });

  it('float32-chunk mode (SIMD GEMM per chunk, float64 sums) stays within 1e-5 relative', () => {
    const acc = new HessianAccumulator(37, { gemm: (a, T, K, b, N, y) => gemmABt(a, T, K, b, N, y) });
    acc.add(x);
    const h = acc.finalize();
    const ref = naiveHessian(x);
    let maxAbs = 0;
    let maxRef = 0;
    for (let i = 0; i < ref.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(h.data[i]! - ref[i]!));
      maxRef = Math.max(maxRef, Math.abs(ref[i]!));
    }
    expect(maxAbs / maxRef).toBeLessThan(1e-5);
  });

  it('rejects bad input with typed errors', () => {
    const acc = new HessianAccumulator(4);
    expect(() => acc.add(matrix(2, 5, new Float32Array(10)))).toThrow(NqInputError);
    expect(() => acc.add(matrix(1, 4, Float32Array.from([1, Number.NaN, 0, 0])))).toThrow(/NaN|finite/i);
    expect(() => new HessianAccumulator(4).finalize()).toThrow(NqInputError);
    expect(() => new HessianAccumulator(0)).toThrow(NqInputError);
    expect(() => acc.merge(new HessianAccumulator(5))).toThrow(NqInputError);
  });
});

describe('upper Cholesky of H⁻¹', () => {
  it('is upper triangular with UᵀU·H = I, and equals Cholesky of an independently inverted H', () => {
    const n = 23;
    const h = hessianOf(correlatedInputs(60, n, 2)).data;
    for (let i = 0; i < n; i++) h[i * n + i] += 0.01;
    const res = upperCholeskyOfInverse(h, n);
    if (!('u' in res)) throw new Error('unexpected failure');
    const u = res.u;
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) expect(u[i * n + j]).toBe(0);
    // independent: H⁻¹ column by column with Gaussian elimination, then the upper factor of it
    // by the textbook Cholesky of H⁻¹ = L·Lᵀ (U = Lᵀ)
    const inv = new Float64Array(n * n);
    for (let c = 0; c < n; c++) {
      const e = new Float64Array(n);
      e[c] = 1;
      const col = solve(h, e, n);
      for (let r = 0; r < n; r++) inv[r * n + c] = col[r]!;
    }
    const l = Float64Array.from(inv);
    expect(choleskyLowerInPlace(l, n)).toBe(-1);
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        worst = Math.max(worst, Math.abs(u[i * n + j]! - l[j * n + i]!));
        scale = Math.max(scale, Math.abs(l[j * n + i]!));
      }
    }
    expect(worst / scale).toBeLessThan(1e-9);
  });

  it('reports the failing pivot of a matrix that is not positive definite', () => {
    // H = v·vᵀ, v = (1, 2, 3): rank 1, the second pivot is exactly 0
    const v = [1, 2, 3];
    const h = new Float64Array(9);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) h[i * 3 + j] = v[i]! * v[j]!;
    const res = upperCholeskyOfInverse(h, 3);
    expect('failedAt' in res).toBe(true);
  });

  it('choleskyLowerInPlace matches L·Lᵀ = A on a random SPD matrix', () => {
    const n = 9;
    const rng = new Rng(3);
    const b = rng.normals(n * n);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) a[i * n + j] += b[i * n + k]! * b[j * n + k]!;
    for (let i = 0; i < n; i++) a[i * n + i] += 1;
    const l = Float64Array.from(a);
    expect(choleskyLowerInPlace(l, n)).toBe(-1);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += l[i * n + k]! * l[j * n + k]!;
        expect(s).toBeCloseTo(a[i * n + j]!, 9);
      }
    }
  });
});
