import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sharedDir } from '@nq/core/testing';

export const REPO = path.resolve(import.meta.dirname, '../../..');
export const CLI = path.join(REPO, 'apps/harness/src/cli.ts');
/** ../shared beside the repository (or $NQ_SHARED), as @nq/core/testing resolves it for every package's tests. */
export const SHARED = sharedDir();

export function tmpDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `nq-harness-${label}-`));
}

/** Node args that run the CLI from source, as `pnpm nq` does. */
export const NODE_ARGS = ['--conditions=source', '--import', 'tsx', CLI];

export function runCli(
  args: string[],
  env: Record<string, string> = {},
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...NODE_ARGS, ...args], {
    cwd: REPO,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 110_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function spawnCli(args: string[], env: Record<string, string> = {}) {
  return spawn(process.execPath, [...NODE_ARGS, ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Number of complete lines in a file (0 if missing). */
export function lineCount(file: string): number {
  if (!fs.existsSync(file)) return 0;
  const s = fs.readFileSync(file, 'utf8');
  return s.split('\n').length - 1;
}

/** A small kernel-only sweep file (no model), `cells` = 2 rotations × 2 act × 2 weight × seeds. */
export function writeSmallSweep(dir: string, name: string, seeds = [0, 1, 2], extra = ''): string {
  const f = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(
    f,
    `name: ${name}
seeds: [${seeds.join(', ')}]
kernel:
  data: [docs5m-down]
  rotations: [none, ro]
  act: [int8-token, int4-token]
  weight: [none, rtn-int4-row]
  tokens: 32
  channels: 64
  out: 16
${extra}`,
  );
  return f;
}
