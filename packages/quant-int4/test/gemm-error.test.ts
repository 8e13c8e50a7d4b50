import { type Matrix, matrix, NqInputError, NqUnsupportedError, Rng } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { denseRotation, gemmABt } from '../src/cpu/gemm.js';
import { fakeQuantInt } from '../src/cpu/int-quantize.js';
import { gemmError } from '../src/gemm-error.js';

function randomMatrix(rows: number, cols: number, seed: number): Matrix {
  const rng = new Rng(seed);
  return matrix(
    rows,
    cols,
    Float32Array.from({ length: rows * cols }, (_, i) => rng.normal() * (i % 29 === 3 ? 15 : 1)),
  );
}

// Sylvester Hadamard / √n: an orthogonal R built here, independently of @nq/hadamard.
function hadamard(n: number): Matrix {
  const d = new Float32Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let b = i & j;
      let parity = 0;
      while (b) {
        parity ^= b & 1;
        b >>= 1;
      }
      d[i * n + j] = (parity ? -1 : 1) / Math.sqrt(n);
    }
  return matrix(n, n, d);
}

function naiveMatmulABt(a: Matrix, b: Matrix): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.rows; i++)
    for (let j = 0; j < b.rows; j++) {
      let s = 0;
      for (let t = 0; t < a.cols; t++) s += a.data[i * a.cols + t]! * b.data[j * b.cols + t]!;
      out.push(s);
    }
  return out;
}

function naiveStats(ref: ArrayLike<number>, approx: ArrayLike<number>) {
  let e = 0;
  let r = 0;
  let m = 0;
  for (let i = 0; i < ref.length; i++) {
    e += (approx[i]! - ref[i]!) ** 2;
    r += ref[i]! ** 2;
    m = Math.max(m, Math.abs(approx[i]! - ref[i]!));
  }
  return { mse: e / ref.length, snrDb: 10 * Math.log10(r / e), maxAbs: m };
}

describe('gemmABt', () => {
  it('equals the naive triple loop', () => {
    const a = randomMatrix(7, 13, 1);
    const b = randomMatrix(9, 13, 2);
    const y = gemmABt(a, b);
    const ref = naiveMatmulABt(a, b);
    for (let i = 0; i < ref.length; i++) expect(y.data[i]).toBeCloseTo(ref[i]!, 4);
  });
});

describe('gemmError (W4A4 GEMM error of a layer)', () => {
  const x = randomMatrix(12, 32, 3);
  const w = randomMatrix(10, 32, 4);
  const a4 = { format: 'int', bits: 4, granularity: 'token' } as const;
  const w4 = { format: 'int', bits: 4, granularity: 'token' } as const;

  it('equals a direct computation, with and without rotation', () => {
    const R = hadamard(32);
    for (const rotate of [null, denseRotation(R)]) {
      const rep = gemmError(x, w, { rotate, activation: a4, weight: w4 });
      // direct: rotate with an explicit product, quantize, multiply, compare
      const xr = rotate ? matrix(12, 32, Float32Array.from(naiveMatmulABt(x, transposeM(R)))) : x;
      const wr = rotate ? matrix(10, 32, Float32Array.from(naiveMatmulABt(w, transposeM(R)))) : w;
      const xq = fakeQuantInt(xr, a4);
      const wq = fakeQuantInt(wr, w4);
      const y = naiveMatmulABt(x, w);
      const yq = naiveMatmulABt(xq, wq);
      const g = naiveStats(y, yq);
      expect(rep.gemm.mse).toBeCloseTo(g.mse, 4);
      expect(rep.gemm.snrDb).toBeCloseTo(g.snrDb, 3);
      expect(rep.gemm.maxAbs).toBeCloseTo(g.maxAbs, 3);
      const a = naiveStats(xr.data, xq.data);
      expect(rep.activation.mse).toBeCloseTo(a.mse, 5);
      expect(rep.activation.snrDb).toBeCloseTo(a.snrDb, 3);
      const ws = naiveStats(wr.data, wq.data);
      expect(rep.weight.mse).toBeCloseTo(ws.mse, 5);
      expect(rep.shape).toEqual({ tokens: 12, k: 32, out: 10 });
    }
  });

  it('rotation alone is exact (orthogonal R), and rotation reduces the activation error of outlier-heavy X', () => {
    const rot = denseRotation(hadamard(32));
    const none = gemmError(x, w, { rotate: rot });
    expect(none.activation.mse).toBe(0);
    expect(none.weight.mse).toBe(0);
    expect(none.gemm.snrDb).toBeGreaterThan(100);
    const plain = gemmError(x, w, { activation: a4 });
    const rotated = gemmError(x, w, { rotate: rot, activation: a4 });
    expect(rotated.activation.snrDb).toBeGreaterThan(plain.activation.snrDb);
  });

  it('accepts quantizer functions; rejects fp specs (use @nq/quant-fp), mismatched shapes, NaN', () => {
    const rep = gemmError(x, w, { activation: (m) => fakeQuantInt(m, a4) });
    expect(rep.gemm.snrDb).toBe(gemmError(x, w, { activation: a4 }).gemm.snrDb);
    expect(() => gemmError(x, w, { weight: { format: 'nvfp4' } })).toThrow(NqUnsupportedError);
    expect(() => gemmError(x, randomMatrix(4, 16, 1))).toThrow(NqInputError);
    const bad = randomMatrix(2, 32, 5);
    bad.data[3] = Number.NaN;
    expect(() => gemmError(bad, w)).toThrow(NqInputError);
  });
});

function transposeM(m: Matrix): Matrix {
  const d = new Float32Array(m.rows * m.cols);
  for (let i = 0; i < m.rows; i++)
    for (let j = 0; j < m.cols; j++) d[j * m.rows + i] = m.data[i * m.cols + j]!;
  return matrix(m.cols, m.rows, d);
}
