import { NqInputError, Rng } from '@nq/core';
import { beforeAll, describe, expect, it } from 'vitest';
import * as gguf from '../src/gguf/index.js';
import {
  createKvCache,
  forward,
  generateGreedy,
  loadLlama2c,
  loadModel,
  loadSafetensors,
  randomModel,
  readNpy,
  TINY_CONFIG,
} from '../src/index.js';
import type { LoadedModel } from '../src/types.js';
import { naiveForward } from './helpers/naive-forward.js';
import {
  HAVE_NQ5M,
  NQ5M_BIN,
  NQ5M_GGUF,
  NQ5M_REF_LOGITS,
  NQ5M_SKIP_REASON,
  NQ5M_ST,
  readRef,
  relErr,
} from './helpers/shared.js';

const tiny = randomModel(TINY_CONFIG, 11);
const tinyIds = (n: number, seed: number) => {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => r.int(TINY_CONFIG.vocabSize));
};

describe('forward on a tiny random model', () => {
  it('matches a plain float64 implementation written from the definitions', () => {
    const ids = tinyIds(21, 1); // 21 = 5·4 + 1: exercises the GEMM's 4-row tiles and the leftover row
    const got = forward(tiny, ids);
    expect([got.rows, got.cols]).toEqual([21, TINY_CONFIG.vocabSize]);
    expect(relErr(got.data, naiveForward(tiny, ids))).toBeLessThan(1e-5);
  });

  it('KV-cache decoding (token by token, and chunked prefill) gives the same logits as one prefill', () => {
    const ids = tinyIds(19, 2);
    const full = forward(tiny, ids);
    const cache = createKvCache(tiny.config, 32);
    const steps = new Float32Array(full.data.length);
    for (let t = 0; t < ids.length; t++) steps.set(forward(tiny, [ids[t]!], { cache }).data, t * full.cols);
    expect(cache.length).toBe(19);
    expect(relErr(steps, full.data)).toBeLessThan(1e-5);
    const c2 = createKvCache(tiny.config, 32);
    const a = forward(tiny, ids.slice(0, 7), { cache: c2 });
    const b = forward(tiny, ids.slice(7), { cache: c2, lastOnly: true });
    expect(relErr(a.data, full.data.subarray(0, 7 * full.cols))).toBeLessThan(1e-5);
    expect(b.rows).toBe(1);
    expect(relErr(b.data, full.data.subarray(18 * full.cols))).toBeLessThan(1e-5);
  });

  it('lastOnly prunes the last layer to the last position: same logits as the full pass, every row still seen by hooks', () => {
    // 24 tokens: the pruned last layer runs its one query through the direct attention loop while the
    // full pass uses attention by GEMM, so the two paths really differ.
    const ids = tinyIds(24, 5);
    const V = TINY_CONFIG.vocabSize;
    const full = forward(tiny, ids);
    const last = forward(tiny, ids, { lastOnly: true });
    expect(last.rows).toBe(1);
    expect(relErr(last.data, full.data.subarray(23 * V))).toBeLessThan(1e-5);
    // From a cache: 10 tokens, then 14 more with lastOnly (queries at positions 10…23).
    const cache = createKvCache(tiny.config, 32);
    forward(tiny, ids.slice(0, 10), { cache });
    const tail = forward(tiny, ids.slice(10), { cache, lastOnly: true });
    expect(cache.length).toBe(24);
    expect(relErr(tail.data, full.data.subarray(23 * V))).toBeLessThan(1e-5);
    // The cache holds K/V of every position of the pruned layer: decoding on from it matches.
    const next = forward(tiny, [7], { cache, lastOnly: true });
    expect(relErr(next.data, forward(tiny, [...ids, 7], { lastOnly: true }).data)).toBeLessThan(1e-5);
    // A capture hook (calibration) sees all 24 rows of every linear, the last layer's included.
    const rows: number[] = [];
    forward(tiny, ids, {
      lastOnly: true,
      hooks: { captureLinearInput: (l, _name, x) => l === TINY_CONFIG.nLayers - 1 && rows.push(x.rows) },
    });
    expect(rows).toEqual([24, 24, 24, 24, 24, 24, 24]);
  });

  it('noLogits only fills the cache (last layer stops after K/V): same cache and same next logits as a full pass', () => {
    const ids = tinyIds(20, 6);
    const full = createKvCache(tiny.config, 32);
    forward(tiny, ids, { cache: full });
    const kvOnly = createKvCache(tiny.config, 32);
    const r = forward(tiny, ids, { cache: kvOnly, noLogits: true });
    expect([r.rows, r.data.length]).toEqual([0, 0]);
    expect(kvOnly.length).toBe(20);
    for (let l = 0; l < TINY_CONFIG.nLayers; l++) {
      const n = 20 * kvOnly.kvDim;
      expect(relErr(kvOnly.k[l]!.subarray(0, n), full.k[l]!.subarray(0, n)), `layer ${l} K`).toBeLessThan(
        1e-6,
      );
      expect(relErr(kvOnly.v[l]!.subarray(0, n), full.v[l]!.subarray(0, n)), `layer ${l} V`).toBeLessThan(
        1e-6,
      );
    }
    const next = forward(tiny, [9], { cache: kvOnly, lastOnly: true });
    expect(relErr(next.data, forward(tiny, [...ids, 9], { lastOnly: true }).data)).toBeLessThan(1e-5);
    expect(() => forward(tiny, ids, { noLogits: true, lastOnly: true })).toThrow(NqInputError);
  });

  it('startPos shifts RoPE positions, and RoPE is relative (shifting every position changes nothing)', () => {
    const one = forward(tiny, [5]);
    const shifted = forward(tiny, [5], { startPos: 9 });
    // With one token attention is the identity on v, whatever the position: the logits must agree.
    expect(relErr(shifted.data, one.data)).toBeLessThan(1e-6);
    const two0 = forward(tiny, [5, 6]);
    const two9 = forward(tiny, [5, 6], { startPos: 9 });
    // RoPE is relative: shifting both tokens by the same offset leaves q·k, hence logits, unchanged.
    expect(relErr(two9.data, two0.data)).toBeLessThan(1e-5);
  });

  it('rejects bad tokens and cache overflow with typed errors naming the argument', () => {
    const bad = (() => {
      try {
        forward(tiny, [1, 2, TINY_CONFIG.vocabSize]);
      } catch (e) {
        return e;
      }
    })();
    expect(bad).toBeInstanceOf(NqInputError);
    expect((bad as NqInputError).argument).toBe('tokens[2]');
    expect(() => forward(tiny, [])).toThrow(NqInputError);
    expect(() => forward(tiny, [1.5])).toThrow(NqInputError);
    const cache = createKvCache(tiny.config, 4);
    forward(tiny, [1, 2, 3], { cache });
    expect(() => forward(tiny, [4, 5], { cache })).toThrow(/overflow/);
    expect(() => forward(tiny, [1], { startPos: -1 })).toThrow(NqInputError);
    expect(() => createKvCache(tiny.config, 0)).toThrow(NqInputError);
  });

  it('out: logits written into a caller buffer (a view of it), equal to a fresh result; too small → typed error', () => {
    const ids = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3];
    const V = TINY_CONFIG.vocabSize;
    const fresh = forward(tiny, ids).data;
    const out = new Float32Array(ids.length * V + 7).fill(Number.NaN);
    const r = forward(tiny, ids, { out });
    expect(r.data.buffer).toBe(out.buffer);
    expect(Array.from(r.data)).toEqual(Array.from(fresh));
    expect(out[ids.length * V]).toBeNaN(); // nothing written past rows·vocab
    const last = forward(tiny, ids, { out: new Float32Array(V), lastOnly: true });
    expect(Array.from(last.data)).toEqual(Array.from(forward(tiny, ids, { lastOnly: true }).data));
    const bad = (() => {
      try {
        forward(tiny, ids, { out: new Float32Array(V) });
      } catch (e) {
        return e;
      }
    })();
    expect(bad).toBeInstanceOf(NqInputError);
    expect((bad as NqInputError).argument).toBe('out');
  });
});

describe.skipIf(!HAVE_NQ5M)(
  `nq-docs-5M against the shipped PyTorch reference (${HAVE_NQ5M ? 'present' : NQ5M_SKIP_REASON})`,
  () => {
    let ref: ReturnType<typeof readRef>;
    let refLogits: Float32Array;
    let fromBin: LoadedModel;
    let fromSt: LoadedModel;
    beforeAll(async () => {
      ref = readRef();
      refLogits = readNpy(NQ5M_REF_LOGITS).data as Float32Array;
      fromBin = await loadLlama2c(NQ5M_BIN);
      fromSt = await loadSafetensors(NQ5M_ST);
    });

    it('logits at all 64 positions of the reference prompt match to ≤ 1e-4 relative (.bin and safetensors)', () => {
      for (const m of [fromBin, fromSt]) {
        const y = forward(m, ref.ref_logits.prompt_ids);
        expect([y.rows, y.cols]).toEqual(ref.ref_logits.shape);
        expect(relErr(y.data, refLogits)).toBeLessThan(1e-4);
      }
    });

    it('greedy decoding of BOS + "The kernel" reproduces the shipped 40-token continuation', () => {
      const want = ref.greedy.ids;
      const prompt = want.slice(0, 3); // BOS + encode("The kernel") per the reference file
      expect(generateGreedy(fromBin, prompt, want.length - prompt.length)).toEqual(want);
      expect(generateGreedy(fromSt, prompt, want.length - prompt.length)).toEqual(want);
    });

    const haveGgufLoader = typeof (gguf as Record<string, unknown>).loadGgufModel === 'function';
    it.skipIf(!haveGgufLoader)(
      `F32 GGUF through loadModel matches the reference logits and greedy ids (${haveGgufLoader ? 'loader present' : 'loadGgufModel not exported yet by ./gguf'})`,
      async () => {
        const m = await loadModel(NQ5M_GGUF);
        expect(relErr(forward(m, ref.ref_logits.prompt_ids).data, refLogits)).toBeLessThan(1e-4);
        const want = ref.greedy.ids;
        expect(generateGreedy(m, want.slice(0, 3), want.length - 3)).toEqual(want);
      },
    );
  },
);
