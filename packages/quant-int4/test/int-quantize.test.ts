import { type Matrix, matrix, NqInputError, NqUnsupportedError, Rng } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { dequantizeInt, fakeQuantInt, quantizeInt } from '../src/cpu/int-quantize.js';
import { type Granularity, parseQuantSpec } from '../src/spec.js';

// ---- an independent reference, written from the definitions in issue 7 (units as explicit index lists)
function rne(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  return d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
}

function unitsOf(rows: number, cols: number, g: Granularity, gs: number): number[][] {
  const units: number[][] = [];
  if (g === 'tensor') units.push(Array.from({ length: rows * cols }, (_, f) => f));
  if (g === 'token')
    for (let i = 0; i < rows; i++) units.push(Array.from({ length: cols }, (_, j) => i * cols + j));
  if (g === 'channel')
    for (let j = 0; j < cols; j++) units.push(Array.from({ length: rows }, (_, i) => i * cols + j));
  if (g === 'group')
    for (let i = 0; i < rows; i++)
      for (let b = 0; b < cols / gs; b++)
        units.push(Array.from({ length: gs }, (_, t) => i * cols + b * gs + t));
  return units;
}

function referenceFakeQuant(
  x: Matrix,
  bits: number,
  sym: boolean,
  g: Granularity,
  gs: number,
  clip = 1,
): Float32Array {
  const out = new Float32Array(x.data.length);
  for (const unit of unitsOf(x.rows, x.cols, g, gs)) {
    const vals = unit.map((f) => x.data[f]!);
    if (sym) {
      const qmax = 2 ** (bits - 1) - 1;
      const s = Math.fround((clip * Math.max(...vals.map(Math.abs))) / qmax);
      for (const f of unit)
        out[f] = s === 0 ? 0 : Math.min(Math.max(rne(x.data[f]! / s), -qmax - 1), qmax) * s;
    } else {
      const mn = Math.min(...vals);
      const mx = Math.max(...vals);
      if (mn === mx) {
        for (const f of unit) out[f] = x.data[f]!; // a constant group is left unchanged
        continue;
      }
      const qmax = 2 ** bits - 1;
      const s = Math.fround((clip * mx - clip * mn) / qmax);
      const z = rne((-clip * mn) / s);
      for (const f of unit) out[f] = (Math.min(Math.max(rne(x.data[f]! / s) + z, 0), qmax) - z) * s;
    }
  }
  return out;
}

function randomMatrix(rows: number, cols: number, seed: number, outliers = true): Matrix {
  const rng = new Rng(seed);
  const d = new Float32Array(rows * cols);
  for (let i = 0; i < d.length; i++) d[i] = rng.normal() * (outliers && i % 37 === 5 ? 20 : 1);
  return matrix(rows, cols, d);
}

const grans: Granularity[] = ['tensor', 'token', 'channel', 'group'];

describe('quantizeInt / fakeQuantInt against the definitions', () => {
  for (const g of grans) {
    for (const bits of [2, 4, 8]) {
      for (const sym of [true, false]) {
        it(`${g}, ${bits} bits, ${sym ? 'symmetric' : 'asymmetric'}`, () => {
          const x = randomMatrix(6, 64, 1000 + bits);
          const spec = parseQuantSpec({
            format: 'int',
            bits,
            granularity: g,
            symmetric: sym,
            ...(g === 'group' ? { groupSize: 16 } : {}),
          });
          const fq = fakeQuantInt(x, spec);
          expect(Array.from(fq.data)).toEqual(Array.from(referenceFakeQuant(x, bits, sym, g, 16)));
          const q = quantizeInt(x, spec);
          // dequantize(quantize(x)) is fake-quant bit for bit
          expect(Array.from(dequantizeInt(q).data)).toEqual(Array.from(fq.data));
          // codes in range and of the right type
          const [lo, hi] = sym ? [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1] : [0, 2 ** bits - 1];
          expect(q.codes).toBeInstanceOf(sym ? Int8Array : Uint8Array);
          for (const c of q.codes) expect(c >= lo && c <= hi).toBe(true);
          // round trip within half a step for every element (no clipping: the range covers the unit)
          for (let f = 0; f < x.data.length; f++) {
            const i = Math.floor(f / x.cols);
            const j = f % x.cols;
            const u =
              g === 'tensor'
                ? 0
                : g === 'token'
                  ? i
                  : g === 'channel'
                    ? j
                    : i * (x.cols / 16) + Math.floor(j / 16);
            const step = q.scales[u]!;
            expect(Math.abs(fq.data[f]! - x.data[f]!)).toBeLessThanOrEqual(step / 2 + 1e-6 * step + 1e-30);
          }
        });
      }
    }
  }

  it("scales are shaped by granularity and equal each unit's own max|x|/qmax", () => {
    const x = randomMatrix(5, 48, 7);
    const shapes: [Granularity, number, number][] = [
      ['tensor', 1, 1],
      ['token', 5, 1],
      ['channel', 1, 48],
      ['group', 5, 3],
    ];
    for (const [g, r, c] of shapes) {
      const q = quantizeInt(x, {
        format: 'int',
        bits: 4,
        granularity: g,
        ...(g === 'group' ? { groupSize: 16 } : {}),
      });
      expect([q.layout.scaleRows, q.layout.scaleCols, q.scales.length]).toEqual([r, c, r * c]);
    }
    const qg = quantizeInt(x, { format: 'int', bits: 4, granularity: 'group', groupSize: 16 });
    for (let i = 0; i < 5; i++) {
      for (let b = 0; b < 3; b++) {
        let m = 0;
        for (let t = 0; t < 16; t++) m = Math.max(m, Math.abs(x.data[i * 48 + b * 16 + t]!));
        expect(qg.scales[i * 3 + b]).toBe(Math.fround(m / 7));
      }
    }
    const qc = quantizeInt(x, { format: 'int', bits: 8, granularity: 'channel' });
    for (let j = 0; j < 48; j++) {
      let m = 0;
      for (let i = 0; i < 5; i++) m = Math.max(m, Math.abs(x.data[i * 48 + j]!));
      expect(qc.scales[j]).toBe(Math.fround(m / 127));
    }
  });

  it('w4a16-rtn-g128 edge cases: constant groups unchanged, zero groups zero, zero point of a positive group', () => {
    const d = new Float32Array(3 * 128);
    d.fill(0.3, 0, 128); // constant positive group
    d.fill(0, 128, 256); // zero group
    for (let t = 0; t < 128; t++) d[256 + t] = 1 + t / 127; // all positive: z = round(−1/s) < 0
    const x = matrix(3, 128, d);
    const spec = { format: 'int', bits: 4, granularity: 'group', groupSize: 128, symmetric: false } as const;
    const fq = fakeQuantInt(x, spec);
    for (let t = 0; t < 128; t++) expect(fq.data[t]).toBe(Math.fround(0.3));
    for (let t = 128; t < 256; t++) expect(fq.data[t]).toBe(0);
    const s = Math.fround(1 / 15);
    const z = rne(-1 / s);
    expect(z).toBe(-15);
    for (let t = 0; t < 128; t++)
      expect(fq.data[256 + t]).toBe(
        Math.fround((Math.min(Math.max(rne(d[256 + t]! / s) + z, 0), 15) - z) * s),
      );
    const neg = fakeQuantInt(matrix(1, 4, [-2, -2, -2, -2]), { ...spec, groupSize: 4 });
    expect(Array.from(neg.data)).toEqual([-2, -2, -2, -2]);
    expect(
      Array.from(dequantizeInt(quantizeInt(matrix(1, 4, [-2, -2, -2, -2]), { ...spec, groupSize: 4 })).data),
    ).toEqual([-2, -2, -2, -2]);
  });

  it('ties round half to even (exact halves of the step)', () => {
    // symmetric 4-bit, row max 7 → s = 1 exactly
    const sym = fakeQuantInt(matrix(1, 8, [7, 0.5, 1.5, 2.5, -2.5, -3.5, 6.5, -0.5]), {
      format: 'int',
      bits: 4,
      granularity: 'token',
    });
    expect(Array.from(sym.data)).toEqual([7, 0, 2, 2, -2, -4, 6, 0]);
    // asymmetric 4-bit, range [0, 15] → s = 1, z = 0
    const asym = fakeQuantInt(matrix(1, 6, [0, 15, 2.5, 3.5, 12.5, 0.5]), {
      format: 'int',
      bits: 4,
      granularity: 'token',
      symmetric: false,
    });
    expect(Array.from(asym.data)).toEqual([0, 15, 2, 4, 12, 0]);
    // asymmetric zero point on a tie: range [−1.5·s', …] with s = 1 → z = rne(1.5) = 2
    const z = quantizeInt(matrix(1, 2, [-1.5, 13.5]), {
      format: 'int',
      bits: 4,
      granularity: 'token',
      symmetric: false,
    });
    expect(z.scales[0]).toBe(1);
    expect(z.zeros![0]).toBe(2);
  });

  it('clip ratio scales the range (w4a4 activations at 0.9)', () => {
    const x = randomMatrix(4, 32, 11);
    for (const sym of [true, false]) {
      const fq = fakeQuantInt(x, {
        format: 'int',
        bits: 4,
        granularity: 'token',
        symmetric: sym,
        clipRatio: 0.9,
      });
      expect(Array.from(fq.data)).toEqual(Array.from(referenceFakeQuant(x, 4, sym, 'token', 0, 0.9)));
    }
  });

  it('INT8 per-token symmetric (w8a8) hits ±127 at the row maximum', () => {
    const x = randomMatrix(3, 40, 3);
    const q = quantizeInt(x, { format: 'int', bits: 8, granularity: 'token' });
    for (let i = 0; i < 3; i++) {
      let jm = 0;
      for (let j = 1; j < 40; j++) if (Math.abs(x.data[i * 40 + j]!) > Math.abs(x.data[i * 40 + jm]!)) jm = j;
      expect(Math.abs(q.codes[i * 40 + jm]!)).toBe(127);
    }
  });
});

describe('MSE clip search', () => {
  it('picks, per unit, the ratio with the smallest Σ|err|^norm (brute force over the same grid)', () => {
    const x = randomMatrix(4, 64, 21);
    for (const sym of [true, false]) {
      for (const g of ['token', 'group', 'channel'] as Granularity[]) {
        const spec = parseQuantSpec({
          format: 'int',
          bits: 4,
          granularity: g,
          symmetric: sym,
          groupSize: g === 'group' ? 32 : undefined,
          clipSearch: { grid: 20, maxShrink: 0.5, norm: 2 },
        });
        const q = quantizeInt(x, spec);
        const fq = fakeQuantInt(x, spec);
        expect(Array.from(dequantizeInt(q).data)).toEqual(Array.from(fq.data));
        const units = unitsOf(4, 64, g, 32);
        const candidates = Array.from({ length: 10 }, (_, i) => 1 - i / 20);
        const errs = candidates.map((p) => referenceFakeQuant(x, 4, sym, g, 32, p));
        units.forEach((unit, u) => {
          const e = errs.map((fqp) => unit.reduce((a, f) => a + (fqp[f]! - x.data[f]!) ** 2, 0));
          let best = 0;
          for (let c = 1; c < e.length; c++) if (e[c]! < e[best]!) best = c;
          // the search's choice is at least as good as the brute-force winner (equal up to float noise) and never worse than p = 1
          const chosen = unit.reduce((a, f) => a + (fq.data[f]! - x.data[f]!) ** 2, 0);
          expect(chosen).toBeLessThanOrEqual(e[best]! * (1 + 1e-9) + 1e-12);
          expect(chosen).toBeLessThanOrEqual(e[0]! + 1e-12);
          expect(q.clipRatios[u]).toBeCloseTo(candidates[best]!, 6);
        });
      }
    }
  });

  it('clips outliers on a heavy-tailed row', () => {
    const d = new Float32Array(256);
    const rng = new Rng(4);
    for (let i = 0; i < 256; i++) d[i] = rng.normal();
    d[17] = 40;
    const x = matrix(1, 256, d);
    const q = quantizeInt(x, { format: 'int', bits: 4, granularity: 'token', clipSearch: true });
    expect(q.clipRatios[0]).toBeLessThan(1);
  });
});

describe('bad input', () => {
  const x = randomMatrix(2, 10, 1);
  it('group size not dividing the row', () => {
    expect(() => quantizeInt(x, { format: 'int', groupSize: 4 })).toThrow(NqInputError);
    expect(() => fakeQuantInt(x, { format: 'int', groupSize: 4 })).toThrow(/group size 4 does not divide/);
  });
  it('bits out of range', () => {
    expect(() => fakeQuantInt(x, { format: 'int', bits: 16, granularity: 'token' })).toThrow(NqInputError);
  });
  it('NaN and Inf', () => {
    const y = randomMatrix(2, 8, 1);
    y.data[5] = Number.NaN;
    expect(() => fakeQuantInt(y, { format: 'int', granularity: 'token' })).toThrow(/row 0, col 5/);
    y.data[5] = Number.POSITIVE_INFINITY;
    expect(() => quantizeInt(y, { format: 'int', granularity: 'token' })).toThrow(NqInputError);
  });
  it('empty tensors', () => {
    expect(() => fakeQuantInt(matrix(0, 8, []), { format: 'int', granularity: 'token' })).toThrow(/is empty/);
    expect(() => quantizeInt(matrix(3, 0, []), { format: 'int', granularity: 'token' })).toThrow(
      NqInputError,
    );
  });
  it('fp formats point to @nq/quant-fp', () => {
    expect(() => fakeQuantInt(x, { format: 'fp8_e4m3' })).toThrow(NqUnsupportedError);
  });
  it('not a matrix', () => {
    expect(() =>
      fakeQuantInt({ rows: 2, cols: 2, data: [1, 2, 3, 4] } as unknown as Matrix, {
        format: 'int',
        granularity: 'token',
      }),
    ).toThrow(NqInputError);
  });
});
