import fs from 'node:fs';
import path from 'node:path';
import { NqInputError } from '@nq/core';
import { hasShared, sharedModelFiles } from '@nq/core/testing';
import { describe, expect, it } from 'vitest';
import { quickVariant } from '../src/commands/sweep.js';
import { judge } from '../src/report/verdict.js';
import type { ResultRow } from '../src/store/row.js';
import { discoverComparisonRows } from '../src/studies/discover-study.js';
import { geometryComparisonRows } from '../src/studies/geometry-study.js';
import type { DiscoverCell, GeometryCell, KernelCell } from '../src/sweep/cell.js';
import { expandGrid } from '../src/sweep/grid.js';
import { loadSweepFile, parseSweep } from '../src/sweep/load.js';
import { tmpDir } from './helpers.js';

const dir = tmpDir('kinds');
function bad(name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  try {
    loadSweepFile(f);
  } catch (e) {
    expect(e).toBeInstanceOf(NqInputError);
    return (e as Error).message;
  }
  throw new Error(`${name} was accepted`);
}

const hasModels = hasShared(sharedModelFiles('nq-docs-d64l2').bin);

describe('discover: and geometry: sweep blocks — precise errors', () => {
  it('names the field, the value and the allowed values of a bad input, target and backend', () => {
    const m = bad(
      'disc.yaml',
      'name: d\ndiscover:\n  inputs: [attn, mlp]\n  targets: [int3]\n  backend: cuda\n  population: 0\n',
    );
    expect(m).toContain('discover.inputs[1]: "mlp" — allowed: "attn", "o", "ffn", "down"');
    expect(m).toContain('discover.targets[0]: "int3" — allowed: "int8", "int4", "w4a4"');
    expect(m).toContain('discover.backend: "cuda" — allowed: "cpu", "webgpu"');
    expect(m).toContain('discover.population: 0 — population must be ≥ 1');
  });

  it('rejects unknown fields with the allowed list, and a text that is not a known name or .txt', () => {
    const m = bad('disc2.yaml', 'name: d\ndiscover:\n  layer: [1]\n  text: wiki\n');
    expect(m).toContain('discover: unknown field(s) "layer"; allowed: models, text, chars, ctx, windows');
    expect(m).toContain(
      'discover.text: "wiki" — allowed: docs-valid, docs-calib, wikitext2-test, wikitext2-valid or a path ending in .txt',
    );
  });

  it('checks rules across fields: enough characters for the windows, something to search, model_check fields', () => {
    const m = bad(
      'disc3.yaml',
      'name: d\ndiscover:\n  chars: 1000\n  generations: 0\n  model_check: { windows: -1, tokens: 5 }\n',
    );
    expect(m).toContain(
      'discover.chars: 1000 — 1000 characters cannot hold 2 halves of windows × ctx = 8 × 128 tokens',
    );
    expect(m).toContain('discover.generations: 0 — generations and sign_generations are both 0');
    expect(m).toContain('discover.model_check.windows: -1 — windows must be ≥ 1');
    expect(m).toContain('discover.model_check: unknown field(s) "tokens"; allowed: text, windows, ctx');
  });

  it('geometry: held-out windows plus folds must fit the windows; counts typed', () => {
    const m = bad('geo.yaml', 'name: g\ngeometry:\n  windows: 6\n  held_out_windows: 4\n  folds: 4\n');
    expect(m).toContain(
      'geometry.held_out_windows: 4 — held_out_windows (4) + folds (4) must be ≤ windows (6): every fold needs a training window',
    );
    const t = bad('geo2.yaml', 'name: g\ngeometry:\n  corrector_iterations: 2.5\n  recipe: ""\n');
    expect(t).toContain('geometry.corrector_iterations: 2.5 — corrector_iterations must be an integer');
    expect(t).toContain('geometry.recipe: ""');
  });

  it('checks: need a name and a hypothesis, and distinct names', () => {
    const check = (name: string, hyp: string) =>
      `  - { name: ${name}, hypothesis: "${hyp}", metric: loss, baseline: { corrector: none }, treatment: { corrector: ridge-q4 } }\n`;
    const m = bad(
      'checks.yaml',
      `name: c\ngeometry: {}\nchecks:\n${check('a', 'short')}  - { hypothesis: "no name given for this one", metric: loss, baseline: {}, treatment: {} }\n`,
    );
    expect(m).toContain('checks[0].hypothesis: "short" — state the hypothesis in a sentence');
    expect(m).toContain('checks[1].name: missing');
    const d = bad(
      'checks2.yaml',
      `name: c\ngeometry: {}\nchecks:\n${check('a', 'the corrector helps a lot')}${check('a', 'the corrector helps a lot too')}`,
    );
    expect(d).toContain('checks[1].name: "a" — check names must be distinct');
  });
});

describe.skipIf(!hasModels)('discover / geometry grids', () => {
  it('expands models × layers × inputs × targets × seeds, with a note for a layer the model lacks', () => {
    const s = parseSweep({
      name: 'd',
      seeds: [0, 1],
      discover: {
        models: ['nq-docs-d64l2'],
        layers: [0, 1, 5],
        inputs: ['attn', 'down'],
        targets: ['int8', 'w4a4'],
      },
    });
    const g = expandGrid(s);
    expect(g.cells).toHaveLength(2 * 2 * 2 * 2);
    const c = g.cells[0]!.spec as DiscoverCell;
    expect(c.model).toBe('shared/models/nq-docs-d64l2/nq-docs-d64l2.bin');
    expect(c.text).toBe('shared/data/docs-calib.txt');
    expect(c.search).toEqual({
      population: 16,
      generations: 12,
      sign_generations: 0,
      restarts: 1,
      alpha: 1,
      beta: 0,
    });
    expect(g.notes.join('\n')).toContain('discover: layer 5 does not exist in nq-docs-d64l2.bin (2 layers)');
    expect(new Set(g.cells.map((x) => x.id)).size).toBe(g.cells.length);
  });

  it('geometry: one cell per model × seed; quick variant shrinks the search and the setting', () => {
    const s = parseSweep({
      name: 'g',
      seeds: [42, 123],
      geometry: { models: ['nq-docs-d64l2', 'nq-docs-d64l4'] },
      discover: { models: ['nq-docs-d64l2'], model_check: {} },
    });
    const g = expandGrid(s).cells.filter((c) => c.spec.study === 'geometry');
    expect(g.map((c) => `${(c.spec as GeometryCell).model.split('/')[2]}:${c.spec.seed}`)).toEqual([
      'nq-docs-d64l2:42',
      'nq-docs-d64l2:123',
      'nq-docs-d64l4:42',
      'nq-docs-d64l4:123',
    ]);
    const q = quickVariant(s);
    expect(q.seeds).toEqual([42]);
    expect(q.geometry).toMatchObject({ windows: 8, held_out_windows: 2, folds: 2, corrector_iterations: 20 });
    expect(q.discover).toMatchObject({
      population: 6,
      generations: 3,
      windows: 2,
      model_check: { windows: 1 },
    });
  });
});

describe('backend is part of a kernel cell id', () => {
  it('cpu cells keep the ids they had before backends; a GPU tag gives other ids and a backend label', () => {
    const s = parseSweep({
      name: 'k',
      kernel: {
        data: ['docs5m-down'],
        rotations: ['had'],
        act: ['int4-token'],
        tokens: 8,
        channels: 16,
        out: 4,
      },
    });
    const cpu = expandGrid(s).cells[0]!;
    expect('backend' in cpu.spec).toBe(false);
    const gpu = expandGrid(s, { backend: { name: 'webgpu', adapter: 'x' } }).cells[0]!;
    expect(gpu.id).not.toBe(cpu.id);
    expect((gpu.spec as KernelCell).backend).toEqual({ name: 'webgpu', adapter: 'x' });
    const other = expandGrid(s, { backend: { name: 'webgpu', adapter: 'y' } }).cells[0]!;
    expect(other.id).not.toBe(gpu.id);
  });
});

describe('verdicts on discover and geometry rows', () => {
  const row = (labels: Record<string, string>, metrics: Record<string, number>, study: string): ResultRow =>
    ({
      v: 1,
      cell: 'x',
      sweep: 's',
      spec: { study } as never,
      labels,
      metrics,
      timings: {},
      provenance: {} as never,
      created: '',
    }) as ResultRow;

  it('a discover row becomes one row per rotation, and found pairs with had of the same seed', () => {
    const mk = (seed: string, had: number, found: number) =>
      row(
        { study: 'discover', model: 'm', layer: '1', input: 'attn', target: 'w4a4', seed },
        {
          search_none: 3,
          holdout_none: 3,
          search_had: 2,
          holdout_had: had,
          search_block: 2,
          holdout_block: 2.5,
          search_found: 1,
          holdout_found: found,
          baseline_block: 128,
        },
        'discover',
      );
    const rows = [mk('0', 2, 1.8), mk('1', 2, 1.99)].flatMap(discoverComparisonRows);
    expect(rows.map((r) => r.labels.rotation)).toEqual([
      'none',
      'had',
      'bhad128',
      'found',
      'none',
      'had',
      'bhad128',
      'found',
    ]);
    const s = parseSweep({
      name: 's',
      hypothesis: 'found beats had on held-out rows',
      verdict: {
        metric: 'holdout_error',
        baseline: { rotation: 'had' },
        treatment: { rotation: 'found' },
        min_effect: 0.05,
      },
      discover: {},
    });
    const j = judge(s, rows);
    // seed 0: (2 − 1.8)/2 = 10% ≥ 5% supports; seed 1: 0.5% is weak → inconclusive, 1 of 2.
    expect(j.seeds.map((x) => [x.seed, x.says])).toEqual([
      ['0', 'supports'],
      ['1', 'weak'],
    ]);
    expect(j.seeds[0]!.medianImprovement).toBeCloseTo(0.1, 12);
    expect(j.outcome).toBe('inconclusive');
  });

  it('a geometry row becomes one row per corrector: none = 1, ridge = 1 − median R, predictors = their MSE', () => {
    const rows = geometryComparisonRows(
      row(
        { study: 'geometry', model: 'm', recipe: 'r', seed: '42' },
        {
          median_r_bias_only: 0.05,
          median_r_lin_float: 0.3,
          median_r_lin_q4: 0.25,
          median_r_lin_q4_map: -0.5,
          mse_embedding: 0.97,
          mse_features: 0.93,
          mse_both: 0.92,
          mse_oracle: 0.88,
          loss_q: 4.6,
          gain_q1_q4: 0.01,
          gain_embedding: -0.01,
          gain_features: 0.02,
          gain_both: 0,
          gain_oracle: 0.03,
        },
        'geometry',
      ),
    );
    const by = Object.fromEntries(rows.map((r) => [r.labels.corrector, r.metrics]));
    expect(by.none).toEqual({ heldout_rel_mse: 1, loss: 4.6 });
    expect(by['ridge-q4']!.heldout_rel_mse).toBeCloseTo(0.75, 12);
    expect(by['ridge-q4']!.loss).toBeCloseTo(4.59, 12);
    expect(by.features).toEqual({ heldout_rel_mse: 0.93, loss: 4.58 });
    expect(by['bias-only']!.loss).toBeUndefined();
  });
});
