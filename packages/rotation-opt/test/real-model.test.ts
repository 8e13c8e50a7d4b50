import { Rng } from '@nq/core';
import { hasShared, sharedModelFiles } from '@nq/core/testing';
import { forward, loadModel } from '@nq/model';
import { describe, expect, it } from 'vitest';
import { analyzeMassive, buildCodecModel, buildPlan, captureInputs } from '../src/index.js';
import { activationSpec, rowQuantizer } from '../src/quantizers.js';

const modelFile = sharedModelFiles().bin;
const have = hasShared(modelFile);

describe.skipIf(!have)('nq-docs-5M (needs ../shared/models/nq-docs-5M)', () => {
  const tokens = Array.from({ length: 48 }, (_, i) => (i * 97 + 11) % 4096);
  const seqs = [Int32Array.from(tokens)];

  it('a DFRot plan (R1 refined from RH, RH on o/down) with full-precision activations and weights leaves the logits unchanged', async () => {
    const model = await loadModel(modelFile);
    const ref = forward(model, tokens).data;
    const cap = captureInputs(model, seqs);
    const rel = (a: Float32Array) => {
      let d = 0;
      let m = 0;
      for (let i = 0; i < a.length; i++) {
        d = Math.max(d, Math.abs(a[i]! - ref[i]!));
        m = Math.max(m, Math.abs(ref[i]!));
      }
      return d / m;
    };
    const { plan, report } = buildPlan(model, cap, {
      method: 'dfrot',
      format: 'int4',
      seed: 1,
      dfrot: { iterations: 1 },
    });
    expect(report.curves[0]!.loss[1]!).toBeLessThan(report.curves[0]!.loss[0]!);
    const cm = buildCodecModel(model, plan, { activations: null, weights: null });
    expect(rel(forward(cm.model, tokens, { hooks: cm.hooks }).data)).toBeLessThan(1e-4);
  }, 240_000);

  it('massive-token analysis: counts and per-class errors are consistent; RH lowers the INT4 error of down_proj inputs', async () => {
    const model = await loadModel(modelFile);
    const cap = captureInputs(model, seqs);
    const rows = analyzeMassive(model, cap, {
      seed: 0,
      tau: 10,
      groups: ['attn', 'down'],
      formats: ['int4'],
    });
    expect(rows).toHaveLength(8);
    for (const r of rows) {
      expect(r.tokens).toBe(48);
      const e = r.errors.int4;
      expect(e.identity.nMassive).toBe(r.count);
      expect(e.identity.nMassive + e.identity.nNormal).toBe(48);
      for (const k of ['identity', 'rh', 'ro'] as const) expect(e[k].all).toBeGreaterThan(0);
      if (r.group === 'down') expect(e.rh.all).toBeLessThan(e.identity.all);
    }
  }, 240_000);
});

describe('activation quantizers', () => {
  it('INT4 per token is s = max|x|/7, q = clamp(round-half-even(x/s), −8, 7), from the definition', () => {
    const rng = new Rng(4);
    const rows = 5;
    const cols = 24;
    const x = Float32Array.from({ length: rows * cols }, () => rng.normal() * 3);
    x[7] = 0; // exact zero stays zero
    const q = new Float32Array(x.length);
    rowQuantizer(activationSpec('int4'))(x, rows, cols, q);
    const rhe = (v: number) => {
      const f = Math.floor(v);
      const d = v - f;
      return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
    };
    for (let t = 0; t < rows; t++) {
      let m = 0;
      for (let j = 0; j < cols; j++) m = Math.max(m, Math.abs(x[t * cols + j]!));
      const s = Math.fround(m / 7);
      for (let j = 0; j < cols; j++) {
        const v = Math.min(7, Math.max(-8, rhe(x[t * cols + j]! / s))) * s;
        expect(q[t * cols + j]).toBeCloseTo(v, 5);
      }
    }
  });
});
