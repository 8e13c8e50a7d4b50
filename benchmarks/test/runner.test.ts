import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NqInputError } from '@nq/core';
import { afterAll, describe, expect, it } from 'vitest';
import { listSuiteFiles, measureCases, runBenchmarks, selectSuites } from '../src/index.js';
import { measureTriad } from '../src/triad.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'nq-bench-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// Tiny triad arrays: these tests check the plumbing and the arithmetic of the records, not speed.
const triad = { n: 1 << 18, threads: 2, passes: 3 };

describe('triad', () => {
  it('reports 12 bytes per element and GB/s from the best pass, 1 thread and all threads', async () => {
    const r = await measureTriad(triad);
    expect(r.records.map((x) => x.op)).toEqual(['triad-1t', 'triad-all']);
    for (const rec of r.records) {
      expect(rec.bytes).toBe(12 * triad.n);
      expect(rec.samples).toBe(3);
      const best = rec.best_ms as number;
      expect(best).toBeGreaterThan(0);
      expect(best).toBeLessThanOrEqual(rec.median_ms);
      expect(rec.median_ms).toBeLessThanOrEqual(rec.p99_ms);
      expect(rec.gbps).toBeCloseTo((12 * triad.n) / (best * 1e6), 9);
    }
    expect(r.gbps1t).toBe(r.records[0]!.gbps);
    expect(r.gbpsAll).toBe(r.records[1]!.gbps);
    expect(r.records[1]!.ratio).toBeCloseTo(r.gbpsAll / r.gbps1t, 12);
    expect(r.records[1]!.baseline).toBe('triad-1t');
  });
});

describe('runBenchmarks', () => {
  it('finds the triad suite and rejects unknown suites with the list of known ones', () => {
    const all = listSuiteFiles();
    expect(all.map((s) => s.name)).toContain('triad');
    expect(() => selectSuites(all, ['no-such-suite'])).toThrow(NqInputError);
    expect(() => selectSuites(all, ['no-such-suite'])).toThrow(/Use one of: .*triad/);
  });

  it('runs the baseline first, turns a throwing suite into an error record, and keeps going', async () => {
    const dir = path.join(tmp, 'suites');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    writeFileSync(
      path.join(dir, 'a-broken.ts'),
      `export default { name: 'a-broken', description: '', async run() { throw new Error('boom'); } };\n`,
    );
    writeFileSync(path.join(dir, 'b-notasuite.ts'), 'export default 42;\n');
    writeFileSync(
      path.join(dir, 'c-good.ts'),
      `export default { name: 'c-good', description: '', async run(ctx) {
        const b = ctx.baselines.get('triad-1t');
        return [{ suite: 'c-good', op: 'x', backend: 'cpu', n: 1, median_ms: 1, p75_ms: 1, p99_ms: 1, samples: 1, gbps: 2 * b, baseline: 'triad-1t', ratio: 2, machine: ctx.machine },
                { suite: 'c-good', op: 'y', backend: 'webgpu', n: 1, median_ms: 1, p75_ms: 1, p99_ms: 1, samples: 1, machine: 'gpu' }];
      } };\n`,
    );
    const logs: string[] = [];
    const recs = await runBenchmarks({ suitesDir: dir, triad, log: (m) => logs.push(m), backend: 'cpu' });
    expect(recs.map((r) => `${r.suite}:${r.op}`)).toEqual([
      'triad:triad-1t',
      'triad:triad-all',
      'a-broken:error',
      'b-notasuite:error',
      'c-good:x',
    ]);
    expect(recs[2]!.error).toBe('boom');
    expect(String(recs[3]!.error)).toMatch(/does not default-export a Suite/);
    expect(recs[4]!.gbps).toBeCloseTo(2 * recs[0]!.gbps!, 12);
    await expect(runBenchmarks({ backend: 'tpu', triad })).rejects.toThrow(/Use one of: cpu, webgpu, gpujs/);
  });
});

describe('suite timeout', () => {
  it('turns a suite that never finishes into an error record and goes on', async () => {
    const dir = path.join(tmp, 'suites-timeout');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'hang.ts'),
      `export default { name: 'hang', description: '', run: () => new Promise(() => {}) };\n`,
    );
    writeFileSync(
      path.join(dir, 'ok.ts'),
      `export default { name: 'ok', description: '', async run(ctx) { return [{ suite: 'ok', op: 'x', backend: 'cpu', n: 1, median_ms: 1, p75_ms: 1, p99_ms: 1, samples: 1, machine: ctx.machine }]; } };\n`,
    );
    const recs = await runBenchmarks({ suitesDir: dir, triad, log: () => {}, suiteTimeoutS: 0.2 });
    expect(recs.map((r) => `${r.suite}:${r.op}`)).toEqual([
      'triad:triad-1t',
      'triad:triad-all',
      'hang:error',
      'ok:x',
    ]);
    expect(String(recs[2]!.error)).toMatch(/timed out after 0.2 s/);
  });
});

describe('measureCases', () => {
  it('measures each case, attaches the baseline ratio, and records a failing case without stopping', async () => {
    const baselines = new Map([['triad-1t', 10]]);
    const ctx = { backend: 'cpu', quick: true, baselines, machine: 'test', log: () => {} };
    const a = new Float32Array(1 << 16);
    let tornDown = 0;
    const recs = await measureCases('s', ctx, [
      {
        op: 'fail',
        backend: 'cpu',
        n: 1,
        fn: () => {
          throw new Error('case failed');
        },
        teardown: () => {
          tornDown++;
        },
      },
      {
        op: 'fill',
        backend: 'cpu',
        n: a.length,
        bytes: a.byteLength,
        fn: () => a.fill(1),
        time: 20,
        iterations: 3,
        teardown: () => {
          tornDown++;
        },
      },
      { op: 'skipped', backend: 'webgpu', n: 1, fn: () => {} },
    ]);
    expect(recs.map((r) => r.op)).toEqual(['fail', 'fill']);
    expect(recs[0]!.error).toBe('case failed');
    expect(recs[1]!.baseline).toBe('triad-1t');
    expect(recs[1]!.ratio).toBeCloseTo(recs[1]!.gbps! / 10, 12);
    expect(tornDown).toBe(2);
  });
});

describe('pnpm bench (CLI)', () => {
  it('prints the triad rows as JSON lines with the documented fields, and exits 2 on an unknown suite', () => {
    const tsx = path.join(repoRoot, 'node_modules/.bin/tsx');
    const env = { ...process.env, NQ_BENCH_TRIAD_N: String(1 << 18) };
    const ok = spawnSync(
      tsx,
      ['--conditions=source', 'benchmarks/src/cli.ts', 'triad', '--json', '--quick'],
      { cwd: repoRoot, env, encoding: 'utf8' },
    );
    expect(ok.status, ok.stderr).toBe(0);
    const lines = ok.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.op)).toEqual(['triad-1t', 'triad-all']);
    for (const l of lines) {
      for (const k of [
        'suite',
        'op',
        'backend',
        'n',
        'bytes',
        'median_ms',
        'p75_ms',
        'p99_ms',
        'gbps',
        'baseline',
        'ratio',
        'machine',
      ])
        expect(l).toHaveProperty(k);
    }
    const bad = spawnSync(tsx, ['--conditions=source', 'benchmarks/src/cli.ts', 'nope'], {
      cwd: repoRoot,
      env,
      encoding: 'utf8',
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown benchmark suite "nope".*triad/);
  });
});
