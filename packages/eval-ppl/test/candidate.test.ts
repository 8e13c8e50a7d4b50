import { NqInputError } from '@nq/core';
import { hasShared, sharedModelFiles } from '@nq/core/testing';
import { type LoadedModel, loadModel, readNpy } from '@nq/model';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildReference, scoreCandidate } from '../src/candidate.js';
import { evaluate } from '../src/evaluate.js';
import { prepareRecipe } from '../src/recipes/apply.js';
import { resolveRecipe } from '../src/recipes/spec.js';

const { bin: modelFile, validIds: ids } = sharedModelFiles();
const have = hasShared(modelFile, ids);

describe.skipIf(!have)('buildReference / scoreCandidate on nq-docs-5M (skipped without ../shared)', () => {
  let model: LoadedModel;
  let tokens: Int32Array;
  beforeAll(async () => {
    model = await loadModel(modelFile);
    // 4 windows' worth of the shipped docs-valid token ids.
    tokens = Int32Array.from((readNpy(ids).data as Uint16Array).subarray(0, 4 * 256));
  });

  it('the fp model scored against its own reference: KLD 0, top-1 1, PPL = evaluate() fp on the same windows', async () => {
    const reference = buildReference(model, tokens, { ctx: 256, windows: 2, select: 'spread' });
    expect(reference.windows.map((w) => w.start)).toEqual([0, 512]);
    const s = scoreCandidate(reference, model);
    expect(s.tokens_scored).toBe(2 * 255);
    expect(Math.abs(s.kld_mean)).toBeLessThan(1e-6);
    expect(s.top1).toBe(1);
    expect(s.ppl).toBe(s.ppl_base);
    const e = await evaluate({ model, tokens, recipe: 'fp', windows: 2, select: 'spread', cache: false });
    expect(s.ppl).toBe(e.ppl);
    expect(s.ppl_se).toBe(e.ppl_se);
  });

  it("a recipe's model + hooks scored here gives exactly evaluate()'s report for that recipe", async () => {
    const reference = buildReference(model, tokens, { ctx: 256, windows: 2 });
    const prepared = prepareRecipe(model, resolveRecipe('w4a4-rtn-token', 0));
    const s = scoreCandidate(reference, prepared.model, prepared.hooks);
    const e = await evaluate({ model, tokens, recipe: 'w4a4-rtn-token', windows: 2, cache: false });
    expect(s.kld_mean).toBeGreaterThan(0.01);
    expect(s.report).toEqual(e.report);
    expect(s.kldPerToken.length).toBe(510);
    // The per-token series averages to the reported mean.
    expect(s.kldPerToken.reduce((a, b) => a + b, 0) / 510).toBeCloseTo(s.kld_mean, 12);
  });

  it('explicit windows give the same reference as the same windows cut from ctx/windows', () => {
    const a = buildReference(model, tokens, { ctx: 128, windows: 3 });
    const b = buildReference(model, Array.from(tokens), { windowList: a.windows });
    expect(b.ref.targetLogp).toEqual(a.ref.targetLogp);
  });

  it('bad input: typed errors naming the argument', () => {
    const tooLong = model.config.seqLen + 1;
    expect(() => buildReference(model, tokens, { ctx: tooLong })).toThrow(NqInputError);
    expect(() => buildReference(model, tokens, { ctx: tooLong })).toThrow(/ctx/);
    const bad = tokens.slice(0, 300);
    bad[7] = model.config.vocabSize;
    expect(() => buildReference(model, bad, { ctx: 256 })).toThrow(/tokens\[7\]/);
    expect(() =>
      buildReference(model, tokens, { windowList: [{ start: 1000, length: 256, scoreFrom: 0 }] }),
    ).toThrow(/windowList/);
    const reference = buildReference(model, tokens, { ctx: 64, windows: 1 });
    const other = { ...model, config: { ...model.config, vocabSize: model.config.vocabSize + 1 } };
    expect(() => scoreCandidate(reference, other)).toThrow(/vocabulary/);
  });
});
