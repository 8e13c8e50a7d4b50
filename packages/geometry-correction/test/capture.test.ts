import { NqInputError } from '@nq/core';
import { prepareRecipe, resolveRecipe } from '@nq/eval-ppl';
import { forward, randomModel, TINY_CONFIG } from '@nq/model';
import { describe, expect, it } from 'vitest';
import {
  captureSublayers,
  meanNll,
  sampleCalibrationWindows,
  splitWindows,
  unitIndex,
  withSublayerHook,
} from '../src/index.js';
import { charEncoder, syntheticDocs } from './helpers.js';

/** Final RMSNorm and classifier in float64, written from the definitions. */
function logitsFromResidual(model: ReturnType<typeof randomModel>, x: Float32Array, T: number): Float64Array {
  const { dim, vocabSize, normEps } = model.config;
  const out = new Float64Array(T * vocabSize);
  for (let t = 0; t < T; t++) {
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[t * dim + i]! ** 2;
    const inv = 1 / Math.sqrt(ss / dim + normEps);
    for (let v = 0; v < vocabSize; v++) {
      let s = 0;
      for (let i = 0; i < dim; i++)
        s += x[t * dim + i]! * inv * model.weights.finalNorm[i]! * model.weights.output.data[v * dim + i]!;
      out[t * vocabSize + v] = s;
    }
  }
  return out;
}

describe('sub-layer capture', () => {
  const model = randomModel(TINY_CONFIG, 3);
  const tokens = [1, 5, 9, 2, 33, 17, 8, 60, 4, 4, 12, 40];
  const T = tokens.length;
  const dim = model.config.dim;

  it('captured sub-layer outputs are what the residual stream adds: embedding + Σ Y_u gives the logits', () => {
    const cap = captureSublayers(model, undefined, [tokens]);
    expect(cap.units.map((u) => `${u.layer}${u.kind}`)).toEqual(['0attn', '0ffn', '1attn', '1ffn']);
    const x = new Float32Array(T * dim);
    for (let t = 0; t < T; t++)
      x.set(model.weights.tokenEmbedding.data.subarray(tokens[t]! * dim, (tokens[t]! + 1) * dim), t * dim);
    for (const u of cap.units) for (let i = 0; i < x.length; i++) x[i] = x[i]! + u.y[i]!;
    const want = logitsFromResidual(model, x, T);
    const got = forward(model, tokens).data;
    let maxErr = 0;
    let maxRef = 0;
    for (let i = 0; i < want.length; i++) {
      maxErr = Math.max(maxErr, Math.abs(got[i]! - want[i]!));
      maxRef = Math.max(maxRef, Math.abs(want[i]!));
    }
    expect(maxErr / maxRef).toBeLessThan(1e-4);
  });

  it('what a sub-layer visitor leaves is what the model uses (zeroed sub-layers → embeddings only)', () => {
    const hooks = withSublayerHook(undefined, (_l, _k, y) => y.fill(0));
    const got = forward(model, tokens, { hooks }).data;
    const x = new Float32Array(T * dim);
    for (let t = 0; t < T; t++)
      x.set(model.weights.tokenEmbedding.data.subarray(tokens[t]! * dim, (tokens[t]! + 1) * dim), t * dim);
    const want = logitsFromResidual(model, x, T);
    for (let i = 0; i < want.length; i += 7) expect(got[i]).toBeCloseTo(want[i]!, 4);
  });

  it('under a quantization recipe the captured outputs differ from float, and the fp recipe changes nothing', () => {
    const q = prepareRecipe(model, resolveRecipe('w4a4-rtn-token'));
    const fp = captureSublayers(model, undefined, [tokens]);
    const qc = captureSublayers(q.model, q.hooks, [tokens]);
    const u = unitIndex(1, 'ffn');
    let diff = 0;
    for (let i = 0; i < fp.units[u]!.y.length; i++) diff += Math.abs(fp.units[u]!.y[i]! - qc.units[u]!.y[i]!);
    expect(diff).toBeGreaterThan(0);
    const none = prepareRecipe(model, resolveRecipe('fp'));
    const same = captureSublayers(none.model, none.hooks, [tokens]);
    expect(Array.from(same.units[u]!.y)).toEqual(Array.from(fp.units[u]!.y));
    expect(meanNll(q.model, q.hooks, [tokens])).not.toBe(meanNll(model, undefined, [tokens]));
  });

  it('mean NLL is the float64 log-softmax of the logits at the next token', () => {
    const logits = forward(model, tokens);
    const V = logits.cols;
    let want = 0;
    for (let t = 0; t + 1 < T; t++) {
      let z = 0;
      for (let v = 0; v < V; v++) z += Math.exp(logits.data[t * V + v]!);
      want += Math.log(z) - logits.data[t * V + tokens[t + 1]!]!;
    }
    expect(meanNll(model, undefined, [tokens])).toBeCloseTo(want / (T - 1), 10);
  });
});

describe('calibration sample and split', () => {
  const text = syntheticDocs(1, 20, 80);
  const enc = charEncoder(64);
  it('takes seeded windows from distinct documents; same seed same windows, other seed others', () => {
    const a = sampleCalibrationWindows(text, enc, { windows: 5, length: 32, seed: 42 });
    const b = sampleCalibrationWindows(text, enc, { windows: 5, length: 32, seed: 42 });
    const c = sampleCalibrationWindows(text, enc, { windows: 5, length: 32, seed: 123 });
    expect(a.map((w) => Array.from(w))).toEqual(b.map((w) => Array.from(w)));
    expect(a.map((w) => Array.from(w))).not.toEqual(c.map((w) => Array.from(w)));
    expect(a.every((w) => w.length === 32)).toBe(true);
    // Every window is a contiguous slice of one document's encoding.
    const docs = text.split('\x1e').map((d) => enc(d.trim()).join(','));
    for (const w of a) expect(docs.some((d) => d.includes(Array.from(w).join(',')))).toBe(true);
  });
  it('split partitions the windows', () => {
    const s = splitWindows(10, 3, 2, 7);
    expect(s.folds.flat().sort((x, y) => x - y)).toEqual(s.train);
    expect([...s.train, ...s.heldOut].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(s.heldOut.length).toBe(3);
    expect(s.folds.map((f) => f.length)).toEqual([4, 3]);
  });
  it('bad sizes are typed errors naming the argument', () => {
    expect(() => sampleCalibrationWindows(text, enc, { windows: 0, length: 32, seed: 1 })).toThrow(/windows/);
    expect(() => sampleCalibrationWindows(text, enc, { windows: 50, length: 32, seed: 1 })).toThrow(
      NqInputError,
    );
    expect(() => sampleCalibrationWindows(text, enc, { windows: 2, length: 1, seed: 1 })).toThrow(/length/);
    expect(() => splitWindows(4, 3, 1, 1)).toThrow(NqInputError);
    expect(() => splitWindows(10, 3, 0, 1)).toThrow(/folds/);
  });
});
