import { type Matrix, NqInputError, Rng } from '@nq/core';
import { describe, expect, it } from 'vitest';
import {
  cellMoments,
  gptqTurboQuant,
  rotateGroupsRight,
  rotateHessian,
  sphereCoordinateCodebook,
  tabulateDensity,
  turboquantDequantize,
  turboquantFakeQuant,
  turboquantQuantize,
  turboquantTensorBits,
  unrotateGroupsRight,
} from '../src/index.js';

function gaussian(rows: number, cols: number, seed: number): Matrix {
  return { rows, cols, data: new Rng(seed).normals(rows * cols) };
}

/** Heavy-ish tailed weights: Gaussian with a few large columns (what real weights look like). */
function weights(rows: number, cols: number, seed: number): Matrix {
  const m = gaussian(rows, cols, seed);
  for (let r = 0; r < rows; r++) for (const c of [3, 17, 100]) if (c < cols) m.data[r * cols + c]! *= 8;
  return m;
}

function relErr(a: Matrix, b: Matrix): number {
  let e = 0;
  let s = 0;
  for (let i = 0; i < a.data.length; i++) {
    e += (a.data[i]! - b.data[i]!) ** 2;
    s += a.data[i]! ** 2;
  }
  return Math.sqrt(e / s);
}

/** Dense reference of the group transform: y = (u ⊙ σ)·H/√g with H built by Sylvester's rule. */
function denseHadamard(g: number): Float64Array {
  const h = new Float64Array(g * g);
  for (let i = 0; i < g; i++) {
    for (let j = 0; j < g; j++) {
      let p = i & j;
      let bits = 0;
      while (p) {
        bits ^= p & 1;
        p >>= 1;
      }
      h[i * g + j] = bits ? -1 : 1;
    }
  }
  return h;
}

describe('Lloyd-Max codebooks', () => {
  it('1 bit: the centroids are ±E|x| of a sphere coordinate, Γ(g/2)/(√π·Γ((g+1)/2))', () => {
    // independent closed form (log-gamma by Lanczos' approximation)
    const lgamma = (x: number): number => {
      // Lanczos approximation (g = 7, n = 9), accurate to ~1e-15 relative
      const c = [
        0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
        12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
      ];
      x -= 1;
      let a = c[0]!;
      const t = x + 7.5;
      for (let i = 1; i < 9; i++) a += c[i]! / (x + i);
      return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
    };
    for (const g of [16, 128, 1024]) {
      const book = sphereCoordinateCodebook(g, 1);
      const expected = Math.exp(lgamma(g / 2) - lgamma((g + 1) / 2)) / Math.sqrt(Math.PI);
      expect(book[1]).toBeCloseTo(expected, 5);
      expect(book[0]).toBeCloseTo(-expected, 5);
    }
  });

  it('large g: √g × centroids → the Gaussian Lloyd-Max quantizer (Max 1960 tables)', () => {
    const g = 4096;
    const s = Math.sqrt(g);
    const b2 = sphereCoordinateCodebook(g, 2);
    // Max (1960), N(0,1), 4 levels: ±0.4528, ±1.510
    expect(b2[2]! * s).toBeCloseTo(0.4528, 2);
    expect(b2[3]! * s).toBeCloseTo(1.51, 2);
    // 8 levels: 0.2451, 0.7560, 1.344, 2.152
    const b3 = sphereCoordinateCodebook(g, 3);
    const want = [0.2451, 0.756, 1.344, 2.152];
    for (let k = 0; k < 4; k++) expect(b3[4 + k]! * s).toBeCloseTo(want[k]!, 2);
  });

  it('centroid condition: each centroid is the conditional mean of its cell (independent re-integration)', () => {
    for (const [g, bits] of [
      [128, 4],
      [64, 3],
    ] as const) {
      const book = sphereCoordinateCodebook(g, bits);
      // re-tabulate the density on a different grid (coarser, wider) to check the fixed point
      const e = (g - 3) / 2;
      const d = tabulateDensity(
        (x) => (Math.abs(x) >= 1 ? -Infinity : e * Math.log1p(-x * x)),
        -1,
        1,
        200001,
      );
      const K = book.length;
      for (let k = 0; k < K; k++) {
        const a = k === 0 ? -1 : (book[k - 1]! + book[k]!) / 2;
        const b = k === K - 1 ? 1 : (book[k]! + book[k + 1]!) / 2;
        const { mean } = cellMoments(d, a, b);
        // float32 centroids; grid error ~1e-9
        expect(Math.abs(mean - book[k]!)).toBeLessThan(2e-6 / Math.sqrt(g) + 1e-7);
      }
      // ascending and symmetric
      for (let k = 1; k < K; k++) expect(book[k]!).toBeGreaterThan(book[k - 1]!);
      for (let k = 0; k < K; k++) expect(book[k]! + book[K - 1 - k]!).toBeCloseTo(0, 6);
    }
  });
});

describe('TurboQuant fake-quant', () => {
  const w = weights(48, 256, 1);

  it('the group transform is the dense (u ⊙ σ)·H/√g and the decoder inverts it', () => {
    const g = 16;
    const x = gaussian(1, g, 5);
    const signs = new Rng(9).signs(g);
    const y = rotateGroupsRight(x, g, signs);
    const H = denseHadamard(g);
    for (let j = 0; j < g; j++) {
      let s = 0;
      for (let i = 0; i < g; i++) s += x.data[i]! * signs[i]! * H[i * g + j]!;
      expect(y.data[j]).toBeCloseTo(s / Math.sqrt(g), 5);
    }
    const back = unrotateGroupsRight(y, g, signs);
    for (let j = 0; j < g; j++) expect(back.data[j]).toBeCloseTo(x.data[j]!, 5);
  });

  it('reconstruction error decreases with bits (each codebook kind and correction)', () => {
    for (const codebook of ['sphere', 'fitted'] as const) {
      for (const correction of ['norm', 'mse', 'none'] as const) {
        let prev = Infinity;
        for (const bits of [1, 2, 3, 4, 5, 6]) {
          const e = relErr(w, turboquantFakeQuant(w, { bits, codebook, correction, seed: 3 }));
          expect(e).toBeLessThan(prev);
          prev = e;
        }
        // 6 bits: well under 5% (Lloyd-Max Gaussian distortion at 6 bits ≈ 1.2e-3 of the variance)
        expect(prev).toBeLessThan(0.05);
      }
    }
  });

  it('4-bit error matches the Lloyd-Max distortion of a Gaussian (≈ 0.0095 of the variance, Max 1960)', () => {
    // on Gaussian weights the rotated coordinates are ≈ Gaussian: MSE/‖w‖² ≈ D(4 bits) = 0.009497
    const gw = gaussian(64, 1024, 4);
    const e = relErr(gw, turboquantFakeQuant(gw, { bits: 4, groupSize: 1024, correction: 'none', seed: 1 }));
    expect(e * e).toBeGreaterThan(0.0085);
    expect(e * e).toBeLessThan(0.0105);
  });

  it("norm correction is exact: every reconstructed group has the original group's L2 norm", () => {
    const g = 64;
    const q = turboquantFakeQuant(w, { bits: 3, groupSize: g, correction: 'norm', seed: 7 });
    for (let r = 0; r < w.rows; r++) {
      for (let k = 0; k < w.cols / g; k++) {
        let a = 0;
        let b = 0;
        for (let j = 0; j < g; j++) {
          a += w.data[r * w.cols + k * g + j]! ** 2;
          b += q.data[r * w.cols + k * g + j]! ** 2;
        }
        expect(Math.abs(Math.sqrt(b) - Math.sqrt(a)) / Math.sqrt(a)).toBeLessThan(1e-6);
      }
    }
  });

  it("'mse' correction leaves an error orthogonal to the reconstruction (per group)", () => {
    const g = 128;
    const q = turboquantFakeQuant(w, { bits: 2, groupSize: g, correction: 'mse', seed: 7 });
    for (let r = 0; r < 8; r++) {
      let dot = 0;
      let nn = 0;
      for (let j = 0; j < g; j++) {
        const qq = q.data[r * w.cols + j]!;
        dot += (w.data[r * w.cols + j]! - qq) * qq;
        nn += qq * qq;
      }
      expect(Math.abs(dot) / nn).toBeLessThan(1e-5);
    }
  });

  it('determinism by seed: same seed → identical codes; another seed → other signs, other codes', () => {
    const a = turboquantQuantize(w, { seed: 11 }, 'L0.q');
    const b = turboquantQuantize(w, { seed: 11 }, 'L0.q');
    expect(a.codes).toEqual(b.codes);
    expect(a.scales).toEqual(b.scales);
    const c = turboquantQuantize(w, { seed: 12 }, 'L0.q');
    expect(c.signs).not.toEqual(a.signs);
    expect(c.codes).not.toEqual(a.codes);
    const d = turboquantQuantize(w, { seed: 11 }, 'L0.k');
    expect(d.signs).not.toEqual(a.signs);
    expect(turboquantDequantize(a).data).toEqual(turboquantFakeQuant(w, { seed: 11 }, 'L0.q').data);
  });

  it('zero groups stay zero', () => {
    const z = weights(4, 256, 2);
    z.data.fill(0, 0, 128);
    const q = turboquantFakeQuant(z, { seed: 1 });
    for (let j = 0; j < 128; j++) expect(Math.abs(q.data[j]!)).toBe(0);
  });

  it('bad input gets typed errors naming the argument', () => {
    expect(() => turboquantFakeQuant(w, { bits: 9 })).toThrow(NqInputError);
    expect(() => turboquantFakeQuant(w, { bits: 9 })).toThrow(/spec\.bits/);
    expect(() => turboquantFakeQuant(w, { groupSize: 100 })).toThrow(/spec\.groupSize/);
    expect(() => turboquantFakeQuant(weights(4, 96, 1), { groupSize: 64 })).toThrow(
      /not a multiple of groupSize/,
    );
    expect(() => turboquantFakeQuant(w, { correction: 'x' as never })).toThrow(/spec\.correction/);
    const bad = weights(2, 128, 1);
    bad.data[5] = Number.NaN;
    expect(() => turboquantFakeQuant(bad)).toThrow(NqInputError);
  });
});

describe('bits per parameter', () => {
  it('counts codes, one float32 scale per group, the fitted codebook and the signs', () => {
    const b = turboquantTensorBits(256, 768, { bits: 4, groupSize: 128 });
    expect(b.total).toBe(256 * 768 * 4 + 256 * 6 * 32 + 128);
    expect(b.bitsPerParameter).toBeCloseTo(4 + 32 / 128 + 128 / (256 * 768), 12);
    const f = turboquantTensorBits(256, 768, { bits: 4, groupSize: 128, codebook: 'fitted' });
    expect(f.total - b.total).toBe(16 * 32);
  });
});

describe('GPTQ with the TurboQuant inner quantizer', () => {
  // calibration inputs with correlated channels, so GPTQ has something to exploit
  const rows = 32;
  const cols = 128;
  const T = 512;
  const x = gaussian(T, cols, 21);
  for (let t = 0; t < T; t++)
    for (let j = 1; j < cols; j++)
      x.data[t * cols + j] = 0.6 * x.data[t * cols + j - 1]! + x.data[t * cols + j]!;
  const H = new Float64Array(cols * cols);
  for (let t = 0; t < T; t++)
    for (let i = 0; i < cols; i++)
      for (let j = 0; j < cols; j++)
        H[i * cols + j] += (2 * x.data[t * cols + i]! * x.data[t * cols + j]!) / T;
  const h = { n: cols, data: H, samples: T };
  const w = weights(rows, cols, 22);

  function outputErr(wq: Matrix): number {
    // ‖X·Wᵀ − X·Ŵᵀ‖²
    let e = 0;
    for (let t = 0; t < T; t++) {
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let j = 0; j < cols; j++)
          s += x.data[t * cols + j]! * (w.data[r * cols + j]! - wq.data[r * cols + j]!);
        e += s * s;
      }
    }
    return e;
  }

  it('Rᵀ·H·R equals the dense product', () => {
    const g = 32;
    const signs = new Rng(3).signs(g);
    const hr = rotateHessian(h, g, signs);
    // dense R (block-diagonal) by rotating the identity's rows
    const I: Matrix = { rows: cols, cols, data: new Float32Array(cols * cols) };
    for (let i = 0; i < cols; i++) I.data[i * cols + i] = 1;
    const R = rotateGroupsRight(I, g, signs); // row i = e_i·R
    for (const [i, j] of [
      [0, 0],
      [5, 40],
      [127, 64],
    ] as const) {
      let s = 0;
      for (let a = 0; a < cols; a++)
        for (let b = 0; b < cols; b++) s += R.data[a * cols + i]! * H[a * cols + b]! * R.data[b * cols + j]!;
      expect(hr[i * cols + j]).toBeCloseTo(s, 4);
    }
  });

  it('without error feedback (diagonal H) it is TurboQuant RTN without norm correction', () => {
    const hI = { n: cols, data: new Float64Array(cols * cols), samples: 1 };
    for (let i = 0; i < cols; i++) hI.data[i * cols + i] = 1;
    const spec = { bits: 4, groupSize: 64, seed: 5 };
    const g = gptqTurboQuant(w, hI, { spec, label: 'L' });
    const r = turboquantFakeQuant(w, { ...spec, correction: 'none' }, 'L');
    expect(relErr(r, g.weight)).toBeLessThan(1e-5);
  });

  it('lowers the layer output error below TurboQuant RTN, act-order on and off', () => {
    const spec = { bits: 3, groupSize: 64, seed: 5 };
    const rtn = outputErr(turboquantFakeQuant(w, { ...spec, correction: 'none' }, 'L'));
    for (const actOrder of [false, true]) {
      const g = gptqTurboQuant(w, h, { spec, label: 'L', actOrder });
      expect(outputErr(g.weight)).toBeLessThan(0.8 * rtn);
    }
  });

  it('rejects a fitted codebook and a wrong-size Hessian with typed errors', () => {
    expect(() => gptqTurboQuant(w, h, { spec: { codebook: 'fitted' } })).toThrow(/codebook/);
    expect(() => gptqTurboQuant(w, { n: 4, data: new Float64Array(16) }, {})).toThrow(NqInputError);
  });
});
