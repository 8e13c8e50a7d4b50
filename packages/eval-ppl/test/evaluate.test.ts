import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NqInputError } from '@nq/core';
import { hasShared, sharedModelFiles, sharedPath } from '@nq/core/testing';
import { forward, loadModel, readNpy } from '@nq/model';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../src/evaluate.js';

const { bin: modelFile, validIds: ids } = sharedModelFiles();
const text = sharedPath('data/docs-valid.txt');
const have = hasShared(modelFile, text, ids);

describe.skipIf(!have)('evaluate on nq-docs-5M (2 windows of docs-valid; skipped without ../shared)', () => {
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'nq-eval-'));

  it('fp: tokens match SentencePiece, PPL = exp(mean NLL of tokens 2..ctx), reruns identical, cache reused', async () => {
    const a = await evaluate({ model: modelFile, text, recipe: 'fp', windows: 2, cache });
    expect(a.windows).toBe(2);
    expect(a.tokens_scored).toBe(2 * 255);
    expect(a.reference.cached).toBe(false);
    expect(a.kld_method).toBe('full');

    // Independent check: encode with the shipped reference ids, run the forward pass, and compute
    // the mean NLL the textbook way.
    const ref = readNpy(ids);
    const model = await loadModel(modelFile);
    let nll = 0;
    for (let w = 0; w < 2; w++) {
      const toks = Array.from(ref.data.subarray(w * 256, (w + 1) * 256) as Uint16Array);
      const lg = forward(model, toks);
      for (let j = 0; j < 255; j++) {
        const row = Array.from(lg.data.subarray(j * 4096, (j + 1) * 4096));
        const m = Math.max(...row);
        const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
        nll += lse - row[toks[j + 1]!]!;
      }
    }
    expect(a.ppl).toBeCloseTo(Math.exp(nll / 510), 8);
    expect(a.ppl_base).toBe(a.ppl);
    expect(Math.abs(a.kld_mean)).toBeLessThan(1e-6);
    expect(a.top1).toBe(1);

    const b = await evaluate({ model: modelFile, text, recipe: 'fp', windows: 2, cache });
    expect(b.reference.cached).toBe(true);
    expect(b.ppl).toBe(a.ppl);
    expect(b.report).toEqual(a.report);
  });

  it('a W4A4 candidate uses the cached reference, is worse than fp, and reruns identically', async () => {
    const a = await evaluate({ model: modelFile, text, recipe: 'w4a4-rtn-token', windows: 2, cache });
    expect(a.reference.cached).toBe(true);
    expect(a.kld_mean).toBeGreaterThan(0.01);
    expect(a.top1).toBeLessThan(0.95);
    expect(a.report_text).toContain('Same top p:');
    const b = await evaluate({ model: modelFile, text, recipe: 'w4a4-rtn-token', windows: 2, cache });
    expect(b.report).toEqual(a.report);
  });

  it('a corrupt cache file is recomputed, not trusted', async () => {
    const file = fs.readdirSync(cache).find((f) => f.endsWith('.nqlp'))!;
    fs.truncateSync(path.join(cache, file), 100);
    const a = await evaluate({ model: modelFile, text, recipe: 'fp', windows: 2, cache });
    expect(a.reference.cached).toBe(false);
    expect(fs.statSync(path.join(cache, file)).size).toBeGreaterThan(100);
  });

  it('bad arguments are typed errors', async () => {
    await expect(evaluate({ model: '/nope.bin', text })).rejects.toThrow(NqInputError);
    await expect(evaluate({ model: modelFile, text, ctx: 512 })).rejects.toThrow(/ctx/);
    await expect(evaluate({ model: modelFile, text, seed: -1 })).rejects.toThrow(/seed/);
    await expect(evaluate({ model: modelFile, text: '/nope.txt' })).rejects.toThrow(/text/);
    await expect(evaluate({ model: modelFile, text, recipe: 'w2a2' })).rejects.toThrow(/recipe/);
  });
});
