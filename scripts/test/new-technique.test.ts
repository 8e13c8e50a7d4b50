import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBenchmarks } from '../../benchmarks/src/run.js';
import { NqInputError } from '../../packages/core/src/errors.js';
import { newTechnique, validateTechniqueName } from '../new-technique.js';

// The generator writes into a throwaway workspace under the OS temp dir, never into this repository,
// so a killed run cannot leave junk here; stale temp workspaces from killed runs are cleared at start.
// The throwaway workspace links @nq/core, vitest and the generated package by symlink instead of
// running pnpm install (no network, no lockfile churn); the real `pnpm new-technique` runs pnpm install.
const repo = path.resolve(import.meta.dirname, '../..');
const PREFIX = 'nq-new-technique-test-';
const name = 'demo-tech';
let tmp = '';

function clearStale(): void {
  for (const d of readdirSync(os.tmpdir())) {
    if (!d.startsWith(PREFIX)) continue;
    const p = path.join(os.tmpdir(), d);
    try {
      if (Date.now() - statSync(p).mtimeMs > 30 * 60_000) rmSync(p, { recursive: true, force: true });
    } catch {
      // another run's directory vanished meanwhile: fine
    }
  }
}

function link(target: string, at: string): void {
  mkdirSync(path.dirname(at), { recursive: true });
  symlinkSync(target, at, 'dir');
}

beforeAll(() => {
  clearStale();
  tmp = mkdtempSync(path.join(os.tmpdir(), PREFIX));
  writeFileSync(
    path.join(tmp, 'package.json'),
    '{ "name": "tmp-workspace", "private": true, "type": "module" }\n',
  );
  writeFileSync(path.join(tmp, 'pnpm-workspace.yaml'), 'packages:\n  - packages/*\n  - benchmarks\n');
  cpSync(path.join(repo, 'tsconfig.base.json'), path.join(tmp, 'tsconfig.base.json')); // packages extend it
  mkdirSync(path.join(tmp, 'packages'));
  mkdirSync(path.join(tmp, '.changeset'));
  // The benchmark runner and its helpers, as in the repository (the generated suite imports ../cases.js).
  cpSync(path.join(repo, 'benchmarks/package.json'), path.join(tmp, 'benchmarks/package.json'));
  for (const f of ['suite.ts', 'cases.ts', 'run.ts', 'triad.ts', 'index.ts']) {
    cpSync(path.join(repo, 'benchmarks/src', f), path.join(tmp, 'benchmarks/src', f));
  }
  mkdirSync(path.join(tmp, 'benchmarks/src/suites'));
  link(path.join(repo, 'packages/core'), path.join(tmp, 'node_modules/@nq/core'));
  link(path.join(repo, 'node_modules/vitest'), path.join(tmp, 'node_modules/vitest'));
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('validateTechniqueName', () => {
  it.each([
    '',
    'Demo',
    '1abc',
    '-abc',
    'abc-',
    'a--b',
    'a_b',
    'a b',
    '@nq/x',
    'x'.repeat(51),
  ])('rejects %j', (bad) => {
    expect(() => validateTechniqueName(bad, tmp)).toThrow(NqInputError);
  });
  it('rejects reserved names and packages that already exist', () => {
    expect(() => validateTechniqueName('core', tmp)).toThrow(/reserved/);
    expect(() => validateTechniqueName('hadamard', repo)).toThrow(/already exists/);
    expect(() => validateTechniqueName('my-rotation2', tmp)).not.toThrow();
  });
});

describe('pnpm new-technique', () => {
  it('scaffolds a package whose generated cpu, webgpu and gpujs tests pass, and a runnable suite', async () => {
    const r = newTechnique({ name, root: tmp, install: false, log: () => {} });
    const pkgDir = path.join(tmp, 'packages', name);
    for (const f of [
      'package.json',
      'tsup.config.ts',
      'tsconfig.json',
      'README.md',
      'CHANGELOG.md',
      'src/index.ts',
      'src/cpu/index.ts',
      'src/webgpu/index.ts',
      'src/webgpu/affine.wgsl.ts',
      'src/gpujs/index.ts',
      `test/${name}.test.ts`,
      `test/${name}.webgpu.test.ts`,
      `test/${name}.gpujs.test.ts`,
    ]) {
      expect(existsSync(path.join(pkgDir, f)), f).toBe(true);
    }
    expect(r.files.length).toBe(16); // 14 in the package + the suite + the changeset
    const pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
    expect(pkg.name).toBe(`@nq/${name}`);
    expect(Object.keys(pkg.exports)).toEqual(['.', './cpu', './webgpu', './gpujs']);
    expect(readFileSync(path.join(tmp, '.changeset', `new-${name}.md`), 'utf8')).toMatch(
      new RegExp(`'@nq/${name}': minor`),
    );
    expect(
      JSON.parse(readFileSync(path.join(tmp, 'benchmarks/package.json'), 'utf8')).dependencies[`@nq/${name}`],
    ).toBe('workspace:*');
    for (const f of r.files)
      expect(readFileSync(f, 'utf8')).not.toMatch(/__(name|Pascal|CONST|description)__/);
    // A second run with the same name is refused and writes nothing.
    expect(() => newTechnique({ name, root: tmp, install: false })).toThrow(/already exists/);

    // What `pnpm install` does for the workspace: link the new package where its dependents look.
    link(pkgDir, path.join(tmp, 'node_modules/@nq', name));

    // The generated tests, in their own vitest process with the same per-backend file naming.
    writeFileSync(
      path.join(tmp, 'vitest.config.mjs'),
      `export default { resolve: { conditions: ['source'] }, ssr: { resolve: { conditions: ['source'] } },
        test: { include: ['packages/*/test/**/*.test.ts'], testTimeout: 120000, fileParallelism: false } };\n`,
    );
    const out = path.join(tmp, 'vitest-result.json');
    const v = spawnSync(
      process.execPath,
      [
        path.join(repo, 'node_modules/vitest/vitest.mjs'),
        'run',
        '--root',
        tmp,
        '--config',
        path.join(tmp, 'vitest.config.mjs'),
        '--reporter=json',
        `--outputFile=${out}`,
      ],
      { cwd: tmp, encoding: 'utf8', timeout: 240_000 },
    );
    const res = existsSync(out)
      ? (JSON.parse(readFileSync(out, 'utf8')) as {
          numPassedTests: number;
          numFailedTests: number;
          testResults: {
            name: string;
            message?: string;
            assertionResults: { fullName: string; status: string; failureMessages: string[] }[];
          }[];
        })
      : null;
    const failures = (res?.testResults ?? []).flatMap((t) => [
      ...(t.message ? [`${path.basename(t.name)}: ${t.message}`] : []),
      ...t.assertionResults
        .filter((a) => a.status === 'failed')
        .map((a) => `${a.fullName}: ${a.failureMessages.join('\n').slice(0, 1500)}`),
    ]);
    expect(v.status, `${failures.join('\n')}\n${v.stderr}`.slice(-6000)).toBe(0);
    if (!res) throw new Error('vitest wrote no JSON report');
    expect(res.numFailedTests).toBe(0);
    const files = res.testResults.map((t) => path.basename(t.name)).sort();
    expect(files).toEqual([`${name}.gpujs.test.ts`, `${name}.test.ts`, `${name}.webgpu.test.ts`]);
    // 3 cpu + 3 webgpu sizes + cpu/webasm/webgpu gpu.js modes (headlessgl skipped where it cannot run)
    expect(res.numPassedTests).toBeGreaterThanOrEqual(9);

    // The generated benchmark suite runs through the real runner (cpu only, tiny triad, to stay quick).
    const recs = await runBenchmarks({
      suitesDir: path.join(tmp, 'benchmarks/src/suites'),
      suites: [name],
      backend: 'cpu',
      quick: true,
      triad: { n: 1 << 18, threads: 1, passes: 3 },
      log: () => {},
    });
    const mine = recs.filter((x) => x.suite === name);
    expect(mine.length).toBe(1);
    expect(mine[0]!.op).toBe('affine');
    expect(mine[0]!.error).toBeUndefined();
    expect(mine[0]!.baseline).toBe('triad-1t');
    expect(mine[0]!.ratio).toBeGreaterThan(0);
  });
});
