import fs from 'node:fs';
import path from 'node:path';
import { Rng } from '@nq/core';
import { hasShared, sharedPath } from '@nq/core/testing';
import { captureLayerData, sampleRows } from '@nq/es-search';
import { loadModel, Tokenizer } from '@nq/model';
import { describe, expect, it } from 'vitest';
import { reportCommand } from '../src/commands/report.js';
import { sweepCommand } from '../src/commands/sweep.js';
import { ResultsStore } from '../src/store/results-store.js';
import { runDiscoverCell } from '../src/studies/discover-study.js';
import { KernelMemo } from '../src/studies/kernel-study.js';
import type { DiscoverCell } from '../src/sweep/cell.js';
import { SHARED, tmpDir } from './helpers.js';

const D64 = path.join(SHARED, 'models/nq-docs-d64l2');
const have = hasShared(path.join(D64, 'nq-docs-d64l2.bin'), sharedPath('data/docs-calib.txt'));

/** Symmetric per-row INT4 fake-quant from the definition (s = max|row|/7 as float32, round half to even). */
function q4Rows(x: Float32Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(x.length);
  const rne = (v: number) => {
    const f = Math.floor(v);
    const d = v - f;
    return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f;
  };
  for (let r = 0; r < rows; r++) {
    let m = 0;
    for (let c = 0; c < cols; c++) m = Math.max(m, Math.abs(x[r * cols + c]!));
    const s = Math.fround(m / 7);
    for (let c = 0; c < cols; c++)
      out[r * cols + c] = s === 0 ? 0 : Math.min(7, Math.max(-8, rne(x[r * cols + c]! / s))) * s;
  }
  return out;
}

/** ‖Q4(X)·Q4(W)ᵀ − X·Wᵀ‖² / ‖X·Wᵀ‖² in float64 (no rotation). */
function w4a4Error(x: { rows: number; cols: number; data: Float32Array }, w: typeof x): number {
  const xq = q4Rows(x.data, x.rows, x.cols);
  const wq = q4Rows(w.data, w.rows, w.cols);
  let e = 0;
  let s = 0;
  for (let i = 0; i < x.rows; i++)
    for (let j = 0; j < w.rows; j++) {
      let y = 0;
      let yq = 0;
      for (let k = 0; k < x.cols; k++) {
        y += x.data[i * x.cols + k]! * w.data[j * w.cols + k]!;
        yq += xq[i * x.cols + k]! * wq[j * w.cols + k]!;
      }
      e += (yq - y) ** 2;
      s += y * y;
    }
  return e / s;
}

describe.skipIf(!have)('discover cells (nq-docs-d64l2, tiny search)', () => {
  const dir = tmpDir('discover');
  const out = path.join(dir, 'disc.jsonl');
  const sweepFile = path.join(dir, 'disc.yaml');
  fs.writeFileSync(
    sweepFile,
    `name: disc-test
hypothesis: the found rotation beats a random Hadamard on held-out rows
verdict: { metric: holdout_error, baseline: { rotation: had }, treatment: { rotation: found }, min_effect: 0.01 }
checks:
  - { name: model-kld, hypothesis: "the found rotation lowers the model KLD", metric: model_kld, baseline: { rotation: had }, treatment: { rotation: found } }
seeds: [0, 1]
discover:
  models: [${path.join(D64, 'nq-docs-d64l2.bin')}]
  chars: 40000
  ctx: 64
  windows: 2
  tokens: 64
  holdout_tokens: 96
  layers: [1]
  inputs: [attn]
  targets: [w4a4]
  population: 6
  generations: 3
  sign_generations: 2
  model_check: { text: docs-valid, windows: 1, ctx: 64 }
`,
  );

  it('stores errors matching the definition, a monotone history, and a consistent model check', async () => {
    await sweepCommand(sweepFile, { out, progress: false, out_stream: () => {}, log: () => {} });
    const rows = ResultsStore.openRead(out).latest();
    expect(rows.map((r) => r.labels.seed)).toEqual(['0', '1']);

    // The held-out rows, drawn independently of the harness: same capture, same documented sampling.
    const model = await loadModel(path.join(D64, 'nq-docs-d64l2.bin'));
    const tok = await Tokenizer.fromFile(path.join(D64, 'tok4096.model'));
    const ids = tok.encode(fs.readFileSync(path.join(SHARED, 'data/docs-calib.txt'), 'utf8').slice(0, 40000));
    const held = captureLayerData(model, ids.subarray(Math.floor(ids.length / 2)), {
      ctx: 64,
      windows: 2,
    }).find((c) => c.layer === 1 && c.group === 'attn')!;
    for (const r of rows) {
      const m = r.metrics;
      const hx = sampleRows(held.x, 96, new Rng(Number(r.labels.seed)).fork('holdout:L1.attn'));
      // Identity on held-out rows = plain W4A4 GEMM error, from the definition.
      expect(Math.abs(m.holdout_none! - w4a4Error(hx, held.w!)) / m.holdout_none!).toBeLessThan(1e-6);
      expect(m.holdout_rows).toBe(96);
      expect(m.search_rows).toBe(64);
      // The search keeps the best: the found rotation is at least as good as its own history's best.
      const hist = (r.extra as { history: { restart: number; phase: number; best: number }[] }).history;
      expect(hist).toHaveLength(3 + 1 + 2 + 1);
      for (let i = 1; i < hist.length; i++) expect(hist[i]!.best).toBeLessThanOrEqual(hist[i - 1]!.best);
      expect(m.search_found).toBeCloseTo(hist.at(-1)!.best, 12);
      // Paired per-token difference over the same positions = difference of the means.
      expect(m.model_kld_found_minus_had).toBeCloseTo(m.model_kld_found! - m.model_kld_had!, 10);
      expect(m.model_kld_had).toBeGreaterThan(0);
      expect(m.model_ppl_fp).toBeGreaterThan(1);
    }

    // Recomputed from its spec alone (fresh memo): identical numbers (what `nq reproduce` relies on).
    const again = await runDiscoverCell(rows[0]!.spec as DiscoverCell, new KernelMemo());
    expect(again.metrics).toEqual(rows[0]!.metrics);

    // The report: convergence plot with one line per seed, discover table, verdict and check lines.
    const rep = await reportCommand([out], {
      outDir: path.join(dir, 'report'),
      print: () => {},
      sweepFiles: [sweepFile],
    });
    const svg = rep.svgFiles.find((f) => f.endsWith('.es-convergence.svg'))!;
    expect(svg).toBeDefined();
    const text = fs.readFileSync(svg, 'utf8');
    expect(text).toContain('run: seed 0; cost: best');
    expect(text).toContain('run: seed 1; cost: mean');
    const md = fs.readFileSync(rep.markdownFile, 'utf8');
    expect(md).toContain('| nq-docs-d64l2 | L1.attn | w4a4 | 0 |');
    expect(rep.judgements.map((j) => j.sweep)).toEqual(['disc-test', 'disc-test/model-kld']);
    for (const j of rep.judgements) expect(j.seeds.map((s) => s.pairs)).toEqual([1, 1]);
  });
});

describe.skipIf(!have)('geometry cells', () => {
  it('reproduce the package README row of nq-docs-d64l2, seed 42 (its default settings)', async () => {
    const dir = tmpDir('geometry');
    const f = path.join(dir, 'geo.yaml');
    fs.writeFileSync(f, 'name: geo-test\nseeds: [42]\ngeometry:\n  models: [nq-docs-d64l2]\n');
    const out = path.join(dir, 'geo.jsonl');
    await sweepCommand(f, { out, progress: false, out_stream: () => {}, log: () => {} });
    const [r] = ResultsStore.openRead(out).latest();
    const m = r!.metrics;
    // packages/geometry-correction/README.md, "Verdicts per setting", first line (rounded there).
    const readme: [string, number, number][] = [
      ['median_rel_err', 0.185, 3],
      ['median_r_lin_float', 0.262, 3],
      ['median_r_lin_q4', 0.254, 3],
      ['median_r_lin_q4_map', 0.023, 3],
      ['rho_anisotropy', 0.8, 3],
      ['mse_embedding', 0.968, 3],
      ['mse_features', 0.928, 3],
      ['mse_both', 0.923, 3],
      ['mse_oracle', 0.881, 3],
      ['loss_fp', 4.5931, 4],
      ['loss_q', 4.6133, 4],
      ['gain_embedding', -0.0072, 4],
      ['gain_features', -0.0076, 4],
      ['gain_q1_q4', 0.0017, 4],
    ];
    for (const [k, v, d] of readme)
      expect(Math.abs(m[k]! - v), k).toBeLessThanOrEqual(0.5 * 10 ** -d + 1e-12);
    expect(m.d_model).toBe(64);
    expect(r!.extra).toMatchObject({ verdict_q1: 'unclear', verdict_q2: 'unclear' });
    expect(Object.keys(r!.provenance.files)).toContain('shared/models/nq-docs-d64l2/nq-docs-d64l2.bin');
  });
});
