import { type Matrix, NqInputError, NqUnsupportedError, Rng } from '@nq/core';
import { forward, randomModel, TINY_CONFIG } from '@nq/model';
import { fakeQuantInt } from '@nq/quant-int4';
import { describe, expect, it } from 'vitest';
import { prepareRecipe } from '../src/recipes/apply.js';
import { fakeQuantActivations, fakeQuantRowInPlace, fakeQuantWeight, rint } from '../src/recipes/quantize.js';
import { hadamardMatrix, randomBlockHadamard, randomOrthogonal } from '../src/recipes/rotation.js';
import { BASE_RECIPES, type RecipeSpec, recipeFromName, resolveRecipe } from '../src/recipes/spec.js';

const mat = (rows: number, cols: number, data: number[]): Matrix => ({
  rows,
  cols,
  data: Float32Array.from(data),
});

describe('quantizers (issue 7 definitions)', () => {
  it('rounds half to even', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, 2.5001].map(rint)).toEqual([0, 2, 2, -0, -2, -2, 2, 3]);
  });

  it('w4 symmetric per row: s = max|w|/7, clamp −8..7, halves to even', () => {
    // s = 7/7 = 1: 2.5 → 2, −3.5 → −4, 0.5 → 0.
    const w = fakeQuantWeight(mat(1, 4, [2.5, -3.5, 0.5, 7]), {
      bits: 4,
      granularity: 'row',
      symmetric: true,
    });
    expect(Array.from(w.data)).toEqual([2, -4, 0, 7]);
    // s = 14/7 = 2: −14/2 = −7; 5/2 = 2.5 → 2 → 4; 3/2 = 1.5 → 2 → 4.
    const v = fakeQuantWeight(mat(1, 3, [-14, 5, 3]), { bits: 4, granularity: 'row', symmetric: true });
    expect(Array.from(v.data)).toEqual([-14, 4, 4]);
  });

  it('w4 asymmetric groups: s = (max−min)/15, z = round(−min/s); a constant group is unchanged', () => {
    // min −1, max 2.75: s = 0.25, z = 4; w = 0.125 → round(0.5) = 0 → 0; w = 0.375 → round(1.5) = 2 → 0.5.
    const w = fakeQuantWeight(mat(1, 8, [-1, 2.75, 0.125, 0.375, 5, 5, 5, 5]), {
      bits: 4,
      granularity: 'group',
      groupSize: 4,
      symmetric: false,
    });
    expect(Array.from(w.data)).toEqual([-1, 2.75, 0, 0.5, 5, 5, 5, 5]);
    expect(() =>
      fakeQuantWeight(mat(1, 6, [1, 2, 3, 4, 5, 6]), {
        bits: 4,
        granularity: 'group',
        groupSize: 4,
        symmetric: false,
      }),
    ).toThrow(NqInputError);
  });

  it('w8 per row and a8 per token / per tensor', () => {
    const x = Float32Array.from([1, -127, 63.5, 2, 4, -8]);
    const out = new Float32Array(6);
    fakeQuantActivations(x, 2, 3, { bits: 8, granularity: 'token' }, out);
    // row 0: s = 1 → 63.5 → 64 (even); row 1: s = 8/127.
    expect(Array.from(out.subarray(0, 3))).toEqual([1, -127, 64]);
    const s1 = 8 / 127;
    expect(out[3]).toBeCloseTo(rint(2 / s1) * s1, 6);
    fakeQuantActivations(x, 2, 3, { bits: 4, granularity: 'tensor' }, out);
    // one scale 127/7 for the whole matrix: small entries vanish.
    expect(out[3]).toBe(0);
    expect(out[1]).toBeCloseTo(-127, 4);
  });

  it('clip search keeps the scale with the smallest Σ|err|^2.4 (brute force over the same grid)', () => {
    const rng = new Rng(3);
    const w = mat(4, 64, Array.from(rng.normals(256)));
    w.data[5] = 9; // one outlier per row 0: clipping should pay off
    const cs = { grid: 100, maxShrink: 0.8, norm: 2.4 };
    const q = fakeQuantWeight(w, { bits: 4, granularity: 'row', symmetric: true, clipSearch: cs });
    for (let r = 0; r < 4; r++) {
      const row = Array.from(w.data.subarray(r * 64, (r + 1) * 64));
      const amax = Math.max(...row.map(Math.abs));
      let best = Infinity;
      let bestQ: number[] = [];
      for (let i = 0; i < 80; i++) {
        const s = ((1 - i / 100) * amax) / 7;
        const qq = row.map((v) => Math.fround(Math.min(7, Math.max(-8, rint(v / s))) * s));
        const e = qq.reduce((a, v, j) => a + Math.abs(v - row[j]!) ** 2.4, 0);
        if (e < best) {
          best = e;
          bestQ = qq;
        }
      }
      expect(Array.from(q.data.subarray(r * 64, (r + 1) * 64))).toEqual(bestQ);
    }
  });

  it('agrees with @nq/quant-int4 (an independent implementation) on the recipe quantizers', () => {
    const w = { rows: 16, cols: 256, data: new Rng(11).normals(16 * 256) };
    const cases: [Parameters<typeof fakeQuantWeight>[1], Parameters<typeof fakeQuantInt>[1]][] = [
      [
        { bits: 4, granularity: 'row', symmetric: true },
        { format: 'int', bits: 4, granularity: 'token', symmetric: true },
      ],
      [
        { bits: 8, granularity: 'row', symmetric: true },
        { format: 'int', bits: 8, granularity: 'token', symmetric: true },
      ],
      [
        { bits: 4, granularity: 'group', groupSize: 128, symmetric: false },
        { format: 'int', bits: 4, granularity: 'group', groupSize: 128, symmetric: false },
      ],
    ];
    for (const [mine, theirs] of cases) {
      const a = fakeQuantWeight(w, mine).data;
      const b = fakeQuantInt(w, theirs).data;
      let maxDiff = 0;
      for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
      // Same grid; scales may differ in the last float32 bit.
      expect(maxDiff).toBeLessThan(1e-5);
    }
  });

  it('kv4 rows: symmetric 4-bit with the row scale', () => {
    const r = Float32Array.from([7, -3.5, 0.5, 1.5]);
    fakeQuantRowInPlace(r, 4);
    expect(Array.from(r)).toEqual([7, -4, 0, 2]);
  });
});

describe('rotations', () => {
  const orthoErr = (rT: Float32Array, n: number, rows = n) => {
    let e = 0;
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < n; j++) {
        let d = 0;
        for (let k = 0; k < n; k++) d += rT[i * n + k]! * rT[j * n + k]!;
        e = Math.max(e, Math.abs(d - (i === j ? 1 : 0)));
      }
    }
    return e;
  };

  it('Hadamard matrices of order 2^k, 12·2^k, 20·2^k satisfy H·Hᵀ = n·I', () => {
    for (const n of [1, 2, 16, 12, 24, 20, 40]) {
      const h = hadamardMatrix(n);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          let d = 0;
          for (let k = 0; k < n; k++) d += h[i * n + k]! * h[j * n + k]!;
          expect(d).toBe(i === j ? n : 0);
        }
      }
    }
    expect(() => hadamardMatrix(6)).toThrow(NqUnsupportedError);
    expect(() => hadamardMatrix(28)).toThrow(NqUnsupportedError);
  });

  it('random (block) Hadamard and random orthogonal rotations are orthogonal and seeded', () => {
    expect(orthoErr(randomBlockHadamard(96, 96, new Rng(1)).rT, 96)).toBeLessThan(1e-6);
    // 768 = 12·64: check a few rows against all (full check is 768³).
    expect(orthoErr(randomBlockHadamard(768, 768, new Rng(1)).rT, 768, 8)).toBeLessThan(1e-6);
    const b = randomBlockHadamard(64, 16, new Rng(2));
    expect(orthoErr(b.rT, 64)).toBeLessThan(1e-6);
    expect(b.rT[0 * 64 + 16]).toBe(0); // off-block entries are zero
    expect(orthoErr(randomOrthogonal(48, new Rng(3)).rT, 48)).toBeLessThan(1e-6);
    expect(randomOrthogonal(16, new Rng(4)).rT).toEqual(randomOrthogonal(16, new Rng(4)).rT);
    expect(randomBlockHadamard(32, 32, new Rng(4)).rT).not.toEqual(
      randomBlockHadamard(32, 32, new Rng(5)).rT,
    );
    expect(() => randomBlockHadamard(48, 32, new Rng(1))).toThrow(NqUnsupportedError);
  });
});

describe('recipes', () => {
  it('every name in the issue resolves, with its halves and +kv4', () => {
    const names = BASE_RECIPES.map((n) => n.replace('<b>', '64'));
    for (const n of names) {
      const s = recipeFromName(n, 1);
      expect(s.name).toBe(n);
      if (n.includes('w4a4')) {
        expect(recipeFromName(`${n}:w-only`).activations).toBeNull();
        expect(recipeFromName(`${n}:a-only`).weights).toBeNull();
        expect(recipeFromName(`${n}:a-only+kv4`).kv).toEqual({ bits: 4 });
      }
    }
    expect(recipeFromName('fp')).toMatchObject({
      weights: null,
      activations: null,
      rotation: null,
      quarot: null,
      kv: null,
    });
    expect(recipeFromName('w4a16-rtn-g128').weights).toEqual({
      bits: 4,
      granularity: 'group',
      groupSize: 128,
      symmetric: false,
    });
    expect(recipeFromName('quarot-w4a4').activations).toEqual({
      bits: 4,
      granularity: 'token',
      clipRatio: 0.9,
    });
    expect(recipeFromName('bhad32-w4a4', 7).rotation).toEqual({ kind: 'block-hadamard', block: 32, seed: 7 });
    // JSON round trip
    const spec = recipeFromName('had-w4a4+kv4', 3);
    expect(resolveRecipe(JSON.stringify(spec))).toEqual(spec);
  });

  it('bad recipes are typed errors naming the recipe', () => {
    expect(() => recipeFromName('w3a3')).toThrow(NqInputError);
    expect(() => recipeFromName('fp:w-only')).toThrow(/W4A4/);
    expect(() => recipeFromName('had-w4a4:x-only')).toThrow(/modifier/);
    expect(() => resolveRecipe('{ nope')).toThrow(NqInputError);
    expect(() =>
      resolveRecipe({
        version: 1,
        name: 'x',
        weights: { bits: 9, granularity: 'row', symmetric: true },
        activations: null,
        rotation: null,
        quarot: null,
        kv: null,
      }),
    ).toThrow(/bits/);
  });

  const model = randomModel(TINY_CONFIG, 5);
  const ids = Array.from({ length: 24 }, (_, i) => (i * 13 + 5) % TINY_CONFIG.vocabSize);
  const maxRel = (a: Float32Array, b: Float32Array) => {
    let m = 0;
    let s = 0;
    for (let i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs(a[i]! - b[i]!));
      s = Math.max(s, Math.abs(b[i]!));
    }
    return m / s;
  };
  const run = (spec: RecipeSpec) => {
    const p = prepareRecipe(model, spec);
    return forward(p.model, ids, p.hooks ? { hooks: p.hooks } : {}).data;
  };
  const noQuant = (rotation: RecipeSpec['rotation'], quarot: RecipeSpec['quarot'] = null): RecipeSpec => ({
    version: 1,
    name: 't',
    weights: null,
    activations: null,
    rotation,
    quarot,
    kv: null,
  });

  it('rotations without quantization preserve the function (x·R·(W·R)ᵀ = x·Wᵀ)', () => {
    const fp = forward(model, ids).data;
    for (const r of [
      noQuant({ kind: 'hadamard', seed: 1 }),
      noQuant({ kind: 'block-hadamard', block: 16, seed: 2 }),
      noQuant({ kind: 'orthogonal', seed: 3 }),
      noQuant({ kind: 'adaptive', seed: 4 }),
      noQuant(null, { seed: 5 }),
    ]) {
      expect(maxRel(run(r), fp)).toBeLessThan(1e-5);
    }
  });

  it('w4a4-rtn-token computes Q_a(x)·Q_w(W)ᵀ for every block linear', () => {
    const spec = recipeFromName('w4a4-rtn-token');
    const p = prepareRecipe(model, spec);
    const x = { rows: 3, cols: 32, data: new Rng(8).normals(96) };
    const w = p.model.weights.layers[1]!.gate;
    // The prepared weight is the base weight quantized per row (checked against the definition).
    const base = model.weights.layers[1]!.gate;
    for (let r = 0; r < base.rows; r++) {
      const row = base.data.subarray(r * 32, (r + 1) * 32);
      const s = Math.max(...Array.from(row, Math.abs)) / 7;
      for (let c = 0; c < 32; c++)
        expect(w.data[r * 32 + c]).toBeCloseTo(Math.min(7, Math.max(-8, rint(row[c]! / s))) * s, 6);
    }
    const y = p.hooks!.replaceLinear!(1, 'gate', x, w)!;
    for (let t = 0; t < 3; t++) {
      const xr = x.data.subarray(t * 32, (t + 1) * 32);
      const s = Math.max(...Array.from(xr, Math.abs)) / 7;
      const xq = Array.from(xr, (v) => Math.min(7, Math.max(-8, rint(v / s))) * s);
      for (let o = 0; o < w.rows; o++) {
        let d = 0;
        for (let k = 0; k < 32; k++) d += xq[k]! * w.data[o * 32 + k]!;
        expect(y.data[t * w.rows + o]).toBeCloseTo(d, 4);
      }
    }
    // Embeddings, norms and classifier untouched.
    expect(p.model.weights.output).toBe(model.weights.output);
    expect(p.model.weights.tokenEmbedding).toBe(model.weights.tokenEmbedding);
  });

  it('quantized recipes change the logits, fp does not, and the same seed gives the same logits', () => {
    const fp = forward(model, ids).data;
    expect(run(recipeFromName('fp'))).toEqual(fp);
    for (const n of ['w4a4-rtn-token', 'had-w4a4', 'quarot-w4a4', 'w4a4-rtn-token:w-only+kv4']) {
      const a = run(recipeFromName(n, 1));
      expect(maxRel(a, fp)).toBeGreaterThan(1e-3);
      expect(run(recipeFromName(n, 1))).toEqual(a);
    }
    expect(run(recipeFromName('had-w4a4', 1))).not.toEqual(run(recipeFromName('had-w4a4', 2)));
  });
});

describe('loadRecipe', () => {
  it('reads a JSON spec file and rejects a missing one', async () => {
    const { loadRecipe } = await import('../src/evaluate.js');
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nq-recipe-')), 'r.json');
    const spec = recipeFromName('bhad64-w4a4:a-only', 2);
    fs.writeFileSync(file, JSON.stringify(spec));
    expect(loadRecipe(file)).toEqual(spec);
    expect(() => loadRecipe('/nope/recipe.json')).toThrow(NqInputError);
  });
});
