import { type Matrix, matmulABt, NqInputError, Rng } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { forward, generateGreedy, type LinearName, randomModel, TINY_CONFIG } from '../src/index.js';
import { cloneModel } from '../src/transforms/index.js';
import { relErr } from './helpers/shared.js';

const model = randomModel(TINY_CONFIG, 21);
const ids = (() => {
  const r = new Rng(8);
  return Array.from({ length: 13 }, () => r.int(TINY_CONFIG.vocabSize));
})();
const base = forward(model, ids).data;

describe('captureLinearInput', () => {
  it('sees every linear of every layer in order with [T, in] inputs; q/k/v share the normed embedding input', () => {
    const seen: [number, LinearName, number, number][] = [];
    const inputs = new Map<string, Float32Array>();
    forward(model, ids, {
      hooks: {
        captureLinearInput: (l, n, x) => {
          seen.push([l, n, x.rows, x.cols]);
          inputs.set(`${l}.${n}`, x.data.slice());
        },
      },
    });
    const { dim, hiddenDim } = TINY_CONFIG;
    const T = ids.length;
    const perLayer = (l: number) => [
      [l, 'q', T, dim],
      [l, 'k', T, dim],
      [l, 'v', T, dim],
      [l, 'o', T, dim],
      [l, 'gate', T, dim],
      [l, 'up', T, dim],
      [l, 'down', T, hiddenDim],
    ];
    expect(seen).toEqual([...perLayer(0), ...perLayer(1)]);
    expect(inputs.get('0.k')).toEqual(inputs.get('0.q'));
    expect(inputs.get('0.v')).toEqual(inputs.get('0.q'));
    expect(inputs.get('1.up')).toEqual(inputs.get('1.gate'));
    // Layer 0's q input is RMSNorm(embedding) · attnNorm, computed here from the definition.
    const e = model.weights.tokenEmbedding.data;
    const g = model.weights.layers[0]!.attnNorm;
    const want = new Float32Array(T * dim);
    ids.forEach((id, t) => {
      let ss = 0;
      for (let i = 0; i < dim; i++) ss += e[id * dim + i]! ** 2;
      const s = 1 / Math.sqrt(ss / dim + TINY_CONFIG.normEps);
      for (let i = 0; i < dim; i++) want[t * dim + i] = e[id * dim + i]! * s * g[i]!;
    });
    expect(relErr(inputs.get('0.q')!, want)).toBeLessThan(1e-6);
  });
});

describe('replaceLinear', () => {
  it('returning the plain product X·Wᵀ reproduces the default logits; undefined keeps the default', () => {
    const plain = forward(model, ids, { hooks: { replaceLinear: (_l, _n, x, w) => matmulABt(x, w) } });
    expect(relErr(plain.data, base)).toBeLessThan(1e-6);
    const none = forward(model, ids, { hooks: { replaceLinear: () => undefined } });
    expect(none.data).toEqual(base);
  });

  it('a fake-quant replacement of one linear equals a model whose weight was quantized offline', () => {
    // Round layer-1 'up' weights to a 1/8 grid inside the hook vs. in a copied model.
    const q = (w: Matrix): Matrix => ({
      rows: w.rows,
      cols: w.cols,
      data: w.data.map((v) => Math.round(v * 8) / 8),
    });
    const viaHook = forward(model, ids, {
      hooks: { replaceLinear: (l, n, x, w) => (l === 1 && n === 'up' ? matmulABt(x, q(w)) : undefined) },
    });
    const offline = cloneModel(model);
    offline.weights.layers[1]!.up = q(offline.weights.layers[1]!.up);
    expect(relErr(viaHook.data, forward(offline, ids).data)).toBeLessThan(1e-6);
    expect(relErr(viaHook.data, base)).toBeGreaterThan(1e-4); // and it did change something
  });

  it('a result of the wrong shape is a typed error naming hooks.replaceLinear', () => {
    const e = (() => {
      try {
        forward(model, ids, {
          hooks: {
            replaceLinear: (_l, n) =>
              n === 'o' ? { rows: 1, cols: 1, data: new Float32Array(1) } : undefined,
          },
        });
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(NqInputError);
    expect((e as NqInputError).argument).toBe('hooks.replaceLinear');
  });
});

describe('quantizeKv', () => {
  it('an identity hook changes nothing; it is called once per layer × {k, v} × KV head × position', () => {
    let calls = 0;
    const y = forward(model, ids, {
      hooks: {
        quantizeKv: (_l, _k, _h, _p, row) => {
          calls++;
          expect(row.length).toBe(TINY_CONFIG.dim / TINY_CONFIG.nHeads);
        },
      },
    });
    expect(y.data).toEqual(base);
    expect(calls).toBe(TINY_CONFIG.nLayers * 2 * TINY_CONFIG.nKvHeads * ids.length);
  });

  it('zeroing every V row equals a model whose v_proj weights are zero', () => {
    const zeroV = forward(model, ids, {
      hooks: { quantizeKv: (_l, kind, _h, _p, row) => kind === 'v' && row.fill(0) },
    });
    const m = cloneModel(model);
    for (const l of m.weights.layers) l.v.data.fill(0);
    expect(relErr(zeroV.data, forward(m, ids).data)).toBeLessThan(1e-6);
  });

  it('rows are quantized once when cached: greedy decoding with a KV hook sees each position once per layer/kind/head', () => {
    const seen = new Map<string, number>();
    generateGreedy(model, ids.slice(0, 4), 6, {
      hooks: {
        quantizeKv: (l, k, h, p) => seen.set(`${l}${k}${h}@${p}`, (seen.get(`${l}${k}${h}@${p}`) ?? 0) + 1),
      },
    });
    // 4 prompt + 5 decoded inputs (the 6th new token is never fed back).
    expect(seen.size).toBe(TINY_CONFIG.nLayers * 2 * TINY_CONFIG.nKvHeads * 9);
    expect([...seen.values()].every((v) => v === 1)).toBe(true);
  });
});
