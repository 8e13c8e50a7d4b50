import { type Matrix, NqInputError, Rng } from '@nq/core';
import { missingShared, sharedModelFiles } from '@nq/core/testing';
import { forward, loadModel, randomModel, TINY_CONFIG } from '@nq/model';
import { fakeQuant, type QuantSpec } from '@nq/quant-fp';
import { describe, expect, it } from 'vitest';
import {
  awqScales,
  awqSearch,
  collectInputStats,
  foldRescale,
  hessianDiagScales,
  intWeightBits,
  type LayerScales,
  scaleWeight,
  smoothQuantScales,
  unscaleActivation,
} from '../src/index.js';

const modelPath = sharedModelFiles().bin;
const missing = missingShared(modelPath);

function gaussian(rows: number, cols: number, seed: number): Matrix {
  return { rows, cols, data: new Rng(seed).normals(rows * cols) };
}

/** Dense X·Wᵀ in float64 (independent of the GEMMs under test). */
function matmulT(x: Matrix, w: Matrix): Float64Array {
  const y = new Float64Array(x.rows * w.rows);
  for (let t = 0; t < x.rows; t++)
    for (let r = 0; r < w.rows; r++) {
      let s = 0;
      for (let j = 0; j < x.cols; j++) s += x.data[t * x.cols + j]! * w.data[r * w.cols + j]!;
      y[t * w.rows + r] = s;
    }
  return y;
}

function randomScales(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => Math.exp(2 * (rng.uniform() - 0.5) * Math.log(20)));
}

describe('rescale rules', () => {
  it('SmoothQuant: s_j = max|X_j|^α / max|W_j|^(1−α) over every weight sharing the input', () => {
    const w1: Matrix = { rows: 2, cols: 3, data: new Float32Array([1, -4, 0.5, 2, 1, -0.25]) };
    const w2: Matrix = { rows: 1, cols: 3, data: new Float32Array([-3, 2, 0.125]) };
    const act = [9, 16, 0.25];
    const s = smoothQuantScales(act, [w1, w2], 0.5);
    // column maxima: 3, 4, 0.5
    expect(s[0]).toBeCloseTo(3 / Math.sqrt(3), 6);
    expect(s[1]).toBeCloseTo(4 / 2, 6);
    expect(s[2]).toBeCloseTo(0.5 / Math.sqrt(0.5), 6);
    // α = 1: s = max|X|; α = 0: s = 1/max|W|
    expect(Array.from(smoothQuantScales(act, [w1, w2], 1))).toEqual([9, 16, 0.25]);
    expect(smoothQuantScales(act, [w1, w2], 0)[1]).toBeCloseTo(0.25, 7);
  });

  it('Hessian rule: s_j = H_jj^α; α = 0 is the identity; zero channels keep 1', () => {
    const s = hessianDiagScales([4, 0.01, 0, 100], 0.5);
    expect(Array.from(s).map((v) => +v.toFixed(6))).toEqual([2, 0.1, 1, 10]);
    expect(Array.from(hessianDiagScales([4, 9], 0))).toEqual([1, 1]);
  });

  it('AWQ scales: mean|X|^α normalized by √(max·min)', () => {
    const s = awqScales([1, 4, 16], 0.5);
    // raw 1, 2, 4 → / √4
    expect(Array.from(s)).toEqual([0.5, 1, 2]);
  });

  it('rescaling preserves the layer output: (X·diag(1/s))·(W·diag(s))ᵀ = X·Wᵀ', () => {
    const x = gaussian(16, 64, 1);
    const w = gaussian(24, 64, 2);
    const s = randomScales(64, 3);
    const y0 = matmulT(x, w);
    const y1 = matmulT(unscaleActivation(x, s), scaleWeight(w, s));
    let e = 0;
    let n = 0;
    for (let i = 0; i < y0.length; i++) {
      e = Math.max(e, Math.abs(y0[i]! - y1[i]!));
      n = Math.max(n, Math.abs(y0[i]!));
    }
    // two float32 roundings per term (x/s, w·s): ≤ ~2⁻²³ relative per term, K = 64 terms
    expect(e / n).toBeLessThan(64 * 2 ** -22);
  });

  it('typed errors name the argument', () => {
    expect(() => hessianDiagScales([1, Number.NaN], 0.2)).toThrow(/hDiag/);
    expect(() => hessianDiagScales([1, 2], 1.5)).toThrow(NqInputError);
    expect(() => smoothQuantScales([1, 2], [gaussian(2, 3, 1)], 0.5)).toThrow(/actMaxAbs/);
    expect(() => scaleWeight(gaussian(2, 3, 1), new Float32Array([1, 0, 1]))).toThrow(
      /scales must be finite and > 0/,
    );
    expect(() => foldRescale(randomModel(TINY_CONFIG, 1), [])).toThrow(/one entry per layer/);
  });
});

describe('folding into the model', () => {
  it('random model: folded rescales (attn, ffn, down) keep the logits', () => {
    const m = randomModel(TINY_CONFIG, 5);
    const c = TINY_CONFIG;
    const scales: LayerScales[] = Array.from({ length: c.nLayers }, (_, l) => ({
      attn: randomScales(c.dim, 10 + l),
      ffn: randomScales(c.dim, 20 + l),
      down: randomScales(c.hiddenDim, 30 + l),
    }));
    const f = foldRescale(m, scales);
    const ids = Int32Array.from({ length: 24 }, (_, i) => (i * 7 + 3) % c.vocabSize);
    const a = forward(m, ids).data;
    const b = forward(f, ids).data;
    let e = 0;
    let n = 0;
    for (let i = 0; i < a.length; i++) {
      e = Math.max(e, Math.abs(a[i]! - b[i]!));
      n = Math.max(n, Math.abs(a[i]!));
    }
    expect(e / n).toBeLessThan(1e-5);
    // and the weights did change
    expect(f.weights.layers[0]!.q.data[0]).not.toBe(m.weights.layers[0]!.q.data[0]);
  });

  it.skipIf(missing)(
    `nq-docs-5M: SmoothQuant α=0.5 folded keeps the FP logits ${missing ? `(skipped: ${missing})` : ''}`,
    async () => {
      const m = await loadModel(modelPath);
      const seq = Int32Array.from({ length: 64 }, (_, i) => (i * 37 + 11) % m.config.vocabSize);
      const stats = collectInputStats(m, [seq]);
      const scales = stats.map((st, l) => {
        const L = m.weights.layers[l]!;
        return {
          attn: smoothQuantScales(st.attn.maxAbs, [L.q, L.k, L.v], 0.5),
          ffn: smoothQuantScales(st.ffn.maxAbs, [L.gate, L.up], 0.5),
          down: smoothQuantScales(st.down.maxAbs, [L.down], 0.5),
        };
      });
      const f = foldRescale(m, scales);
      const ids = seq.subarray(0, 32);
      const a = forward(m, ids).data;
      const b = forward(f, ids).data;
      let e = 0;
      let n = 0;
      for (let i = 0; i < a.length; i++) {
        e = Math.max(e, Math.abs(a[i]! - b[i]!));
        n = Math.max(n, Math.abs(a[i]!));
      }
      expect(e / n).toBeLessThan(1e-4);
      // the statistics are those of the inputs: H_jj = mean x² ≤ max|x|²
      for (let j = 0; j < 8; j++)
        expect(stats[0]!.attn.meanSq[j]!).toBeLessThanOrEqual(stats[0]!.attn.maxAbs[j]! ** 2 * (1 + 1e-6));
    },
  );
});

describe('AWQ search', () => {
  // inputs with a few outlier channels (what AWQ is for)
  const x = gaussian(256, 128, 7);
  for (let t = 0; t < 256; t++) for (const j of [5, 50, 90]) x.data[t * 128 + j]! *= 12;
  const ws = [gaussian(64, 128, 8), gaussian(32, 128, 9)];
  const meanAbs = new Float64Array(128);
  for (let t = 0; t < 256; t++)
    for (let j = 0; j < 128; j++) meanAbs[j] += Math.abs(x.data[t * 128 + j]!) / 256;
  const spec: QuantSpec = { format: 'int', bits: 3, granularity: 'group', groupSize: 32, symmetric: false };
  const qw = (w: Matrix) => fakeQuant(w, spec);

  it('never does worse than α = 0 (no rescale) on its own objective, computed independently', () => {
    const r = awqSearch(x, ws, meanAbs, { quantizeWeight: qw, grid: [0.25, 0.5, 0.75] });
    // the α = 0 objective from scratch: Σ ‖X·Wᵀ − X·Q(W)ᵀ‖² with dense float64 products
    let l0 = 0;
    for (const w of ws) {
      const a = matmulT(x, w);
      const b = matmulT(x, qw(w));
      for (let i = 0; i < a.length; i++) l0 += (a[i]! - b[i]!) ** 2;
    }
    const best = Math.min(...r.losses.map((l) => l.loss));
    expect(r.losses.find((l) => l.alpha === r.alpha)!.loss).toBe(best);
    expect(r.losses[0]!.alpha).toBe(0);
    expect(r.losses[0]!.loss).toBeCloseTo(l0, -Math.floor(Math.log10(l0)) + 3);
    expect(best).toBeLessThanOrEqual(l0 * (1 + 1e-6));
    // with outlier channels a positive α helps here
    expect(r.alpha).toBeGreaterThan(0);
    expect(best).toBeLessThan(0.9 * l0);
  });

  it('with an activation quantizer too (W·A): still never worse than α = 0', () => {
    const qa = (m: Matrix) => fakeQuant(m, { format: 'int', bits: 4, granularity: 'token', symmetric: true });
    const r = awqSearch(x, ws, meanAbs, { quantizeWeight: qw, quantizeActivation: qa, grid: [0.5, 1] });
    expect(r.losses[0]!.alpha).toBe(0);
    expect(Math.min(...r.losses.map((l) => l.loss))).toBeLessThanOrEqual(r.losses[0]!.loss);
  });
});

describe('bits', () => {
  it('INT weights: codes + float32 scales + integer zero points', () => {
    expect(
      intWeightBits(256, 768, {
        format: 'int',
        bits: 4,
        granularity: 'group',
        groupSize: 128,
        symmetric: false,
      }),
    ).toBe(256 * 768 * 4 + 256 * 6 * (32 + 4));
    expect(intWeightBits(256, 768, { format: 'int', bits: 4, granularity: 'token', symmetric: true })).toBe(
      256 * 768 * 4 + 256 * 32,
    );
  });
});
