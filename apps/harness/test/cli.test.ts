import fs from 'node:fs';
import path from 'node:path';
import { hasShared, sharedModelFiles, sharedPath } from '@nq/core/testing';
import { describe, expect, it } from 'vitest';
import { ResultsStore } from '../src/store/results-store.js';
import { REPO, runCli, SHARED, tmpDir } from './helpers.js';

const haveModel = hasShared(sharedModelFiles().bin, sharedPath('data/docs-valid.txt'));

describe('nq CLI', () => {
  it('runs the default sweep (reduced: --quick), prints the table, and a second run recomputes nothing', () => {
    const dir = tmpDir('default');
    const out = path.join(dir, 'default.jsonl');
    const env = { NQ_CACHE_DIR: path.join(dir, 'cache') };
    const r = runCli(['sweep', '--quick', '--out', out, '--no-progress'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('default-quick — kernel level');
    expect(r.stdout).toMatch(/docs5m-down\s+int4-token\s+rtn-int4-row\s+gemm SQNR dB/);
    if (haveModel) {
      expect(r.stdout).toContain('default-quick — model level');
      expect(r.stdout).toMatch(/nq-docs-5M\s+docs-valid\s+fp\s/);
    }
    const n = ResultsStore.openRead(out).size;
    expect(n).toBeGreaterThan(10);
    expect(r.stdout).toContain(`${n} computed, 0 already stored`);
    const again = runCli(['sweep', '--quick', '--out', out, '--no-progress'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`0 computed, ${n} already stored`);

    // nq reproduce: a stored CPU row recomputes bit-for-bit (kernel row; and a model row when a model is there).
    const rows = ResultsStore.openRead(out).latest();
    const kernelRow = rows.find(
      (x) => x.spec.study === 'kernel' && x.labels.rotation === 'ro' && x.labels.weight !== 'none',
    )!;
    const rep = runCli(['reproduce', kernelRow.cell.slice(0, 10), '--results', out]);
    expect(rep.code, rep.stdout + rep.stderr).toBe(0);
    expect(rep.stdout).toContain('reproduced exactly');
    expect(rep.stdout).toMatch(/gemm_rel_mse\s+\S+\s+\S+\s+0\.00\s+0\.00\s+same/);

    // nq report: registry + tables + SVG plots.
    const rd = path.join(dir, 'report');
    const rr = runCli(['report', out, '--out', rd]);
    expect(rr.code, rr.stderr).toBe(0);
    const md = fs.readFileSync(path.join(rd, 'report.md'), 'utf8');
    expect(md).toContain('## Experiment registry');
    expect(md).toContain('| default-quick | 📏 baseline');
    expect(md).toContain(kernelRow.cell);
    const svgs = fs.readdirSync(rd).filter((f) => f.endsWith('.svg'));
    expect(svgs).toEqual(
      expect.arrayContaining(['default-quick.pareto.svg', 'default-quick.activation-stats.svg']),
    );
    for (const f of svgs)
      expect(fs.readFileSync(path.join(rd, f), 'utf8')).toMatch(
        /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/,
      );
  });

  it('exits with typed errors naming the argument (bad input: 2)', () => {
    const d = runCli(['discover', '--model', '/nope.bin']);
    expect(d.code).toBe(2);
    expect(d.stderr).toContain('--model: /nope.bin does not exist');
    // Any existing files: the target is checked before anything is loaded.
    const existing = path.resolve(import.meta.dirname, '../package.json');
    const t = runCli(['discover', '--model', existing, '--data', existing, '--target', 'int3']);
    expect(t.code).toBe(2);
    expect(t.stderr).toContain('--target: is "int3"');
    const e = runCli(['eval', '--model', '/nope.bin', '--data', '/nope.txt', '--recipe', 'fp']);
    expect(e.code).toBe(2);
    expect(e.stderr).toContain('--model: /nope.bin does not exist');
    const s = runCli(['sweep', 'no-such-sweep']);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain('no sweep file no-such-sweep');
    expect(s.stderr).toContain('rotation-vs-none-int8');
  });

  it('nq bench delegates to the benchmarks runner (its suite list, its exit status)', () => {
    const r = runCli(['bench', '--list']);
    expect(r.code, r.stderr).toBe(0);
    const suites = fs
      .readdirSync(path.join(REPO, 'benchmarks/src/suites'))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => f.replace(/\.ts$/, ''));
    for (const s of suites) expect(r.stdout.split('\n')).toContain(s);
  });

  it.skipIf(!haveModel)('nq eval --json prints the issue-7 fields', () => {
    const dir = tmpDir('eval');
    const r = runCli(
      [
        'eval',
        '--model',
        path.join(SHARED, 'models/nq-docs-5M/nq-docs-5M.bin'),
        '--data',
        path.join(SHARED, 'data/docs-valid.txt'),
        '--recipe',
        'w4a4-rtn-token',
        '--windows',
        '2',
        '--json',
      ],
      { NQ_CACHE_DIR: dir },
    );
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
    for (const k of [
      'ppl',
      'ppl_se',
      'kld_mean',
      'kld_se',
      'kld_median',
      'kld_p99',
      'top1',
      'windows',
      'tokens_scored',
      'seconds',
    ])
      expect(j).toHaveProperty(k);
    expect(j.windows).toBe(2);
    expect(j.tokens_scored).toBe(2 * 255);
    expect(j.kld_mean).toBeGreaterThan(0);
  });
});
