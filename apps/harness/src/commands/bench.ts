import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { NqUnsupportedError } from '@nq/core';
import { repoRoot } from '../util/paths.js';

/**
 * `nq bench [suite...] [--backend b] [--json] [--quick] [--list]` runs the benchmarks runner
 * (benchmarks/src/cli.ts) as a child process with the same arguments, so its JSON lines go straight
 * to our stdout and its exit status becomes ours. A child process (not an import) keeps benchmark
 * timing free of the harness's own heap and lets GPU suites crash without taking the CLI down.
 */
export function benchCommand(args: string[]): Promise<number> {
  const root = repoRoot();
  const cli = path.join(root, 'benchmarks', 'src', 'cli.ts');
  if (!fs.existsSync(cli))
    throw new NqUnsupportedError(
      '`nq bench`',
      `the benchmarks runner ${cli} is not present in this checkout.`,
    );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', cli, ...args], {
      cwd: root,
      stdio: 'inherit',
    });
    const forward = () => child.kill('SIGINT');
    process.once('SIGINT', forward);
    child.on('error', reject);
    child.on('exit', (code, sig) => {
      process.off('SIGINT', forward);
      resolve(code ?? (sig ? 130 : 1));
    });
  });
}
