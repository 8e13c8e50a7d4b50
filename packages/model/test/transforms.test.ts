import { NqInputError, NqUnsupportedError, Rng } from '@nq/core';
import { blockHadamard, randomHadamard } from '@nq/hadamard';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  denseOrthogonal,
  forward,
  fuseNorms,
  loadLlama2c,
  normsAreFused,
  onlineHadamardDown,
  onlineRotateDown,
  randomModel,
  randomOrthogonal,
  randomOrthogonalMatrix,
  readNpy,
  rotateResidual,
  rotateValueOutput,
  TINY_CONFIG,
} from '../src/index.js';
import type { LoadedModel } from '../src/types.js';
import { HAVE_NQ5M, NQ5M_BIN, NQ5M_REF_LOGITS, NQ5M_SKIP_REASON, readRef, relErr } from './helpers/shared.js';

const tiny = randomModel(TINY_CONFIG, 3);
const ids = (() => {
  const r = new Rng(5);
  return Array.from({ length: 17 }, () => r.int(TINY_CONFIG.vocabSize));
})();
const base = forward(tiny, ids).data;

function maxDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

describe('orthogonal operators', () => {
  it('randomOrthogonalMatrix is orthogonal (RᵀR = I) and seeded', () => {
    const r = randomOrthogonalMatrix(24, 1);
    expect(() => denseOrthogonal(r, 'r', 1e-5)).not.toThrow();
    expect(randomOrthogonalMatrix(24, 1).data).toEqual(r.data);
    expect(randomOrthogonalMatrix(24, 2).data).not.toEqual(r.data);
  });
  it('denseOrthogonal rejects non-square or non-orthogonal matrices', () => {
    const r = randomOrthogonalMatrix(8, 1);
    r.data[3] = r.data[3]! + 0.1;
    expect(() => denseOrthogonal(r)).toThrow(NqInputError);
    expect(() => denseOrthogonal({ rows: 2, cols: 3, data: new Float32Array(6) })).toThrow(/square/);
  });
});

describe('function-preserving transforms on a tiny random model', () => {
  it('fuseNorms: logits unchanged, norm scales become 1, the input model is untouched', () => {
    const f = fuseNorms(tiny);
    expect(normsAreFused(f)).toBe(true);
    expect(normsAreFused(tiny)).toBe(false);
    expect(relErr(forward(f, ids).data, base)).toBeLessThan(1e-5);
    expect(maxDiff(f.weights.layers[0]!.q.data, tiny.weights.layers[0]!.q.data)).toBeGreaterThan(1e-3);
    expect(forward(tiny, ids).data).toEqual(base);
    expect(f.transforms).toEqual(['fuseNorms']);
  });

  it('rotateResidual (R1): needs fused norms; then logits unchanged while every residual weight changed', () => {
    const r = randomOrthogonal(TINY_CONFIG.dim, 9);
    expect(() => rotateResidual(tiny, r)).toThrow(/fuseNorms/);
    expect(() => rotateResidual(fuseNorms(tiny), randomOrthogonal(TINY_CONFIG.dim / 2, 9))).toThrow(
      NqInputError,
    );
    const f = fuseNorms(tiny);
    const rot = rotateResidual(f, r);
    expect(relErr(forward(rot, ids).data, base)).toBeLessThan(1e-5);
    expect(maxDiff(rot.weights.tokenEmbedding.data, f.weights.tokenEmbedding.data)).toBeGreaterThan(0.1);
    expect(maxDiff(rot.weights.layers[1]!.down.data, f.weights.layers[1]!.down.data)).toBeGreaterThan(0.01);
  });

  it('onlineRotateDown (R4) with hidden 48 (not a power of two): logits unchanged; hooks see the rotated input', () => {
    const r = randomOrthogonal(TINY_CONFIG.hiddenDim, 4);
    const m = onlineRotateDown(tiny, r);
    expect(m.online?.downInput).toBe(r);
    expect(relErr(forward(m, ids).data, base)).toBeLessThan(1e-5);
    expect(() => onlineRotateDown(m, r)).toThrow(NqUnsupportedError);
    expect(() => onlineRotateDown(tiny, randomOrthogonal(TINY_CONFIG.dim, 4))).toThrow(NqInputError);
    // The captured down input of the rotated model is the plain model's down input times R.
    const plain: Float32Array[] = [];
    const rotated: Float32Array[] = [];
    forward(tiny, ids, {
      hooks: { captureLinearInput: (l, n, x) => n === 'down' && l === 0 && plain.push(x.data.slice()) },
    });
    forward(m, ids, {
      hooks: { captureLinearInput: (l, n, x) => n === 'down' && l === 0 && rotated.push(x.data.slice()) },
    });
    const expected = r.applyRight({ rows: ids.length, cols: TINY_CONFIG.hiddenDim, data: plain[0]! }).data;
    expect(relErr(rotated[0]!, expected)).toBeLessThan(1e-6);
  });

  it('rotateValueOutput (R2, per head): logits unchanged', () => {
    const hd = TINY_CONFIG.dim / TINY_CONFIG.nHeads;
    const m = rotateValueOutput(tiny, randomOrthogonal(hd, 2));
    expect(relErr(forward(m, ids).data, base)).toBeLessThan(1e-5);
    expect(maxDiff(m.weights.layers[0]!.v.data, tiny.weights.layers[0]!.v.data)).toBeGreaterThan(0.01);
  });

  it('@nq/hadamard RotationSpecs plug in directly: R1 = randomHadamard(32), R4 = Hadamard 48 = 12⊗4, R2 = Hadamard 8', () => {
    const c = TINY_CONFIG;
    const r1 = rotateResidual(fuseNorms(tiny), randomHadamard(c.dim, 7));
    expect(relErr(forward(r1, ids).data, base)).toBeLessThan(1e-5);
    const r4 = onlineHadamardDown(r1, 3);
    expect(r4.transforms?.[2]).toBe('onlineRotateDown:hadamard-48-seed3');
    expect(relErr(forward(r4, ids).data, base)).toBeLessThan(1e-5);
    const r2 = rotateValueOutput(r4, blockHadamard(c.dim / c.nHeads, c.dim / c.nHeads));
    expect(relErr(forward(r2, ids).data, base)).toBeLessThan(1e-5);
    expect(() => rotateResidual(fuseNorms(tiny), randomHadamard(64, 1))).toThrow(NqInputError);
  });

  it('all together (fuse → R1 → R4 → R2): logits unchanged', () => {
    const c = TINY_CONFIG;
    const m = rotateValueOutput(
      onlineRotateDown(
        rotateResidual(fuseNorms(tiny), randomOrthogonal(c.dim, 1)),
        randomOrthogonal(c.hiddenDim, 2),
      ),
      randomOrthogonal(c.dim / c.nHeads, 3),
    );
    expect(relErr(forward(m, ids).data, base)).toBeLessThan(1e-5);
    expect(m.transforms?.length).toBe(4);
  });
});

describe.skipIf(!HAVE_NQ5M)(`transforms on nq-docs-5M (${HAVE_NQ5M ? 'present' : NQ5M_SKIP_REASON})`, () => {
  let model: LoadedModel;
  let prompt: number[];
  let ref: Float32Array;
  let plain: Float32Array;
  beforeAll(async () => {
    model = await loadLlama2c(NQ5M_BIN);
    prompt = readRef().ref_logits.prompt_ids;
    ref = readNpy(NQ5M_REF_LOGITS).data as Float32Array;
    plain = forward(model, prompt).data;
  });

  it('fuseNorms, R1 (Hadamard 256), R4 (Hadamard 768 = 12⊗64) and R2 (random 32) each and together keep logits within 1e-4 of the reference', () => {
    const fused = fuseNorms(model);
    const r1 = rotateResidual(fused, randomHadamard(256, 11));
    const r4 = onlineHadamardDown(r1, 12);
    const r2 = rotateValueOutput(r4, randomOrthogonal(32, 13));
    for (const m of [fused, r1, r4, r2]) {
      const y = forward(m, prompt).data;
      expect(relErr(y, plain)).toBeLessThan(1e-5);
      expect(relErr(y, ref)).toBeLessThan(1e-4);
    }
  });
});
