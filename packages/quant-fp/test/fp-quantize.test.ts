import { type Matrix, matrix, NqInputError, NqUnsupportedError, Rng } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { dequantize, fakeQuant, gemmError, quantize } from '../src/index.js';
import { decodeBits, e2m1, e4m3, e5m2, type Fmt, nearest } from './grids.js';

function randomMatrix(rows: number, cols: number, seed: number): Matrix {
  const rng = new Rng(seed);
  return matrix(
    rows,
    cols,
    Float32Array.from(
      { length: rows * cols },
      (_, i) => rng.normal() * (i % 23 === 1 ? 30 : 1) * (1 + (i % 7)),
    ),
  );
}

// Independent references from the definitions (brute-force nearest grid search from grids.ts).
function refFp8(
  x: Matrix,
  f: Fmt,
  fmax: number,
  gran: 'tensor' | 'token' | 'channel' | 'group',
  gs = 0,
): Float32Array {
  const out = new Float32Array(x.data.length);
  const unit = (i: number, j: number) =>
    gran === 'tensor'
      ? 0
      : gran === 'token'
        ? i
        : gran === 'channel'
          ? j
          : i * (x.cols / gs) + Math.floor(j / gs);
  const amax = new Map<number, number>();
  for (let i = 0; i < x.rows; i++)
    for (let j = 0; j < x.cols; j++)
      amax.set(unit(i, j), Math.max(amax.get(unit(i, j)) ?? 0, Math.abs(x.data[i * x.cols + j]!)));
  for (let i = 0; i < x.rows; i++)
    for (let j = 0; j < x.cols; j++) {
      const s = Math.fround(amax.get(unit(i, j))! / fmax);
      out[i * x.cols + j] = s === 0 ? 0 : nearest(f, x.data[i * x.cols + j]! / s) * s;
    }
  return out;
}

function refNvfp4(x: Matrix): Float32Array {
  let t = 0;
  for (const v of x.data) t = Math.max(t, Math.abs(v));
  const g = Math.fround(t / 2688);
  const out = new Float32Array(x.data.length);
  for (let b = 0; b < x.data.length / 16; b++) {
    const blk = Array.from(x.data.subarray(b * 16, b * 16 + 16));
    const bs = nearest(e4m3, Math.max(...blk.map(Math.abs)) / 6 / g);
    const d = Math.fround(bs * g);
    blk.forEach((v, k) => {
      out[b * 16 + k] = d === 0 ? 0 : nearest(e2m1, v / d) * d;
    });
  }
  return out;
}

function refMxfp4(x: Matrix): Float32Array {
  const out = new Float32Array(x.data.length);
  for (let b = 0; b < x.data.length / 32; b++) {
    const blk = Array.from(x.data.subarray(b * 32, b * 32 + 32));
    const amax = Math.max(...blk.map(Math.abs));
    if (amax === 0) continue;
    let e = 0; // ⌊log2 amax⌋ by repeated halving/doubling (exact for powers of two)
    while (2 ** (e + 1) <= amax) e++;
    while (2 ** e > amax) e--;
    const scale = 2 ** Math.max(-127, Math.min(127, e - 2));
    blk.forEach((v, k) => {
      out[b * 32 + k] = nearest(e2m1, v / scale) * scale;
    });
  }
  return out;
}

const plus0 = (a: ArrayLike<number>) => Array.from(a, (v) => v + 0);

describe('FP8 scaled quantization', () => {
  const x = randomMatrix(4, 64, 3);
  for (const [fmt, f, fmax] of [
    ['fp8_e4m3', e4m3, 448],
    ['fp8_e5m2', e5m2, 57344],
  ] as const) {
    for (const g of ['tensor', 'token', 'channel', 'group'] as const) {
      it(`${fmt} ${g}`, () => {
        const spec = { format: fmt, granularity: g, ...(g === 'group' ? { groupSize: 32 } : {}) };
        const fq = fakeQuant(x, spec);
        expect(plus0(fq.data)).toEqual(plus0(refFp8(x, f, fmax, g, 32)));
        const q = quantize(x, spec);
        expect(plus0(dequantize(q).data)).toEqual(plus0(fq.data));
        // each code decodes (independently) to x̂/s
        if (q.format !== 'int') {
          for (let k = 0; k < 64; k++) {
            const s =
              q.scales[g === 'tensor' ? 0 : g === 'token' ? 0 : g === 'channel' ? k : Math.floor(k / 32)]!;
            expect(Math.fround(decodeBits(f, q.codes[k]!) * s) + 0).toBe(fq.data[k]! + 0);
          }
        }
      });
    }
  }
  it('the unit maximum maps to ±FMAX exactly', () => {
    const q = quantize(matrix(1, 4, [1, -3, 2, 0.5]), { format: 'fp8_e4m3', granularity: 'token' });
    if (q.format === 'int') throw new Error('unexpected');
    expect(decodeBits(e4m3, q.codes[1]!)).toBe(-448);
    expect(q.scales[0]).toBe(Math.fround(3 / 448));
  });
});

describe('NVFP4', () => {
  it('hand-checked block: global amax 2688 → g = 1, block amax 6 → b = 1, elements on the E2M1 grid', () => {
    const d = new Float32Array(32);
    d.set([6, 0.25, 0.75, 2.5, 5, -3.5, -0.26, 1.25], 0);
    d[16] = 2688; // second block holds the tensor amax
    const q = quantize(matrix(1, 32, d), { format: 'nvfp4' });
    if (q.format === 'int') throw new Error('unexpected');
    expect(q.globalScale).toBe(1);
    expect(decodeBits(e4m3, q.blockScaleCodes![0]!)).toBe(1);
    expect(decodeBits(e4m3, q.blockScaleCodes![1]!)).toBe(448);
    expect(plus0(dequantize(q).data.subarray(0, 8))).toEqual([6, 0, 1, 2, 4, -4, -0.5, 1]);
    expect(dequantize(q).data[16]).toBe(2688);
  });
  it('matches the definition on random data; scales shaped rows × cols/16', () => {
    const x = randomMatrix(3, 64, 9);
    const q = quantize(x, { format: 'nvfp4' });
    expect([q.layout.scaleRows, q.layout.scaleCols]).toEqual([3, 4]);
    expect(plus0(fakeQuant(x, { format: 'nvfp4' }).data)).toEqual(plus0(refNvfp4(x)));
    expect(plus0(dequantize(q).data)).toEqual(plus0(refNvfp4(x)));
  });
});

describe('MXFP4', () => {
  it('hand-checked shared exponents', () => {
    const d = new Float32Array(128);
    d[0] = 6; // E = 2 − 2 = 0 → scale 1
    d[1] = 7; // same block: 7 saturates to 6
    d[32] = 8; // E = 3 − 2 = 1 → scale 2
    d[33] = 5; // 5/2 = 2.5 → 2 (tie to even) → 4
    d[64] = 0.1; // E = −4 − 2 = −6 → 0.1·64 = 6.4 → 6 → 0.09375
    const q = quantize(matrix(1, 128, d), { format: 'mxfp4' });
    if (q.format === 'int') throw new Error('unexpected');
    expect(Array.from(q.blockScaleCodes!)).toEqual([127, 128, 121, 0]);
    const y = dequantize(q).data;
    expect([y[0], y[1], y[32], y[33], y[64], y[96]]).toEqual([6, 6, 8, 4, 0.09375, 0]);
  });
  it('matches the definition on random data', () => {
    const x = randomMatrix(2, 96, 12);
    expect(plus0(fakeQuant(x, { format: 'mxfp4' }).data)).toEqual(plus0(refMxfp4(x)));
    const q = quantize(x, { format: 'mxfp4' });
    expect(plus0(dequantize(q).data)).toEqual(plus0(refMxfp4(x)));
    expect(q.scales.length).toBe(6);
  });
});

describe('dispatcher and gemmError over every format', () => {
  it('routes int to @nq/quant-int4 and fp formats here', () => {
    const x = randomMatrix(2, 32, 1);
    const q = quantize(x, { format: 'int', bits: 4, granularity: 'token' });
    expect(q.format).toBe('int');
    expect(q.codes).toBeInstanceOf(Int8Array);
    const w = randomMatrix(5, 32, 2);
    for (const spec of [
      { format: 'nvfp4' },
      { format: 'mxfp4' },
      { format: 'fp8_e4m3', granularity: 'token' },
      { format: 'int', granularity: 'token' },
    ] as const) {
      const rep = gemmError(x, w, { activation: spec, weight: spec });
      expect(rep.gemm.snrDb).toBeGreaterThan(5);
      expect(rep.activation.mse).toBeGreaterThan(0);
    }
  });
  it('bad input gets typed errors', () => {
    const x = randomMatrix(2, 24, 1);
    expect(() => fakeQuant(x, { format: 'nvfp4' })).toThrow(NqInputError); // 24 % 16
    expect(() => fakeQuant(x, { format: 'mxfp4' })).toThrow(/group size 32 does not divide/);
    expect(() => fakeQuant(matrix(0, 16, []), { format: 'nvfp4' })).toThrow(/empty/);
    const y = randomMatrix(1, 32, 1);
    y.data[3] = Number.NEGATIVE_INFINITY;
    expect(() => quantize(y, { format: 'fp8_e5m2' })).toThrow(NqInputError);
    expect(() => fakeQuant(x, { format: 'fp8_e4m3', symmetric: false })).toThrow(NqUnsupportedError);
    expect(() => fakeQuant(x, { format: 'fp4' } as never)).toThrow(NqInputError);
  });
  it('fp8 clip search never does worse than no clipping', () => {
    const x = randomMatrix(4, 64, 5);
    const plain = fakeQuant(x, { format: 'fp8_e4m3', granularity: 'token' });
    const searched = fakeQuant(x, {
      format: 'fp8_e4m3',
      granularity: 'token',
      clipSearch: { grid: 20, maxShrink: 0.5, norm: 2 },
    });
    for (let i = 0; i < 4; i++) {
      let a = 0;
      let b = 0;
      for (let j = 0; j < 64; j++) {
        a += (plain.data[i * 64 + j]! - x.data[i * 64 + j]!) ** 2;
        b += (searched.data[i * 64 + j]! - x.data[i * 64 + j]!) ** 2;
      }
      expect(b).toBeLessThanOrEqual(a);
    }
  });
});
