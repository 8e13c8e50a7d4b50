import { NqError } from '@nq/core';
import type { BenchRecord } from '@nq/core/bench';
import { printRecords } from '@nq/core/bench';
import { listSuiteFiles, runBenchmarks } from './run.js';

/**
 * pnpm bench [suite ...] [--backend cpu|webgpu|gpujs] [--json] [--quick] [--timeout s] [--list]
 *
 * JSON lines (one record per measurement) or a table on stdout; progress on stderr. The triad baseline
 * runs first every time. Exit status: 0 when every record is a measurement, 1 when some suite or case
 * failed (its error record is in the output), 2 for bad arguments.
 */
const USAGE = `usage: pnpm bench [suite ...] [--backend cpu|webgpu|gpujs] [--json] [--quick] [--timeout s] [--list]
  suite       one or more of the files in benchmarks/src/suites (default: all)
  --backend   only measure this backend
  --json      one JSON record per line on stdout (default: a table)
  --quick     small sizes and few samples (smoke runs)
  --timeout   give up on a suite after this many seconds (it becomes an error record)
  --list      list the suites and exit`;

interface Args {
  suites: string[];
  backend?: string;
  json: boolean;
  quick: boolean;
  list: boolean;
  timeoutS?: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { suites: [], json: false, quick: false, list: false };
  for (let i = 0; i < argv.length; i++) {
    const s = argv[i]!;
    if (s === '--json') a.json = true;
    else if (s === '--quick') a.quick = true;
    else if (s === '--list') a.list = true;
    else if (s === '--backend' || s === '-b') a.backend = argv[++i];
    else if (s.startsWith('--backend=')) a.backend = s.slice('--backend='.length);
    else if (s === '--timeout' || s.startsWith('--timeout=')) {
      const v = Number(s === '--timeout' ? argv[++i] : s.slice('--timeout='.length));
      if (!(v > 0)) throw new Error(`--timeout needs a positive number of seconds\n${USAGE}`);
      a.timeoutS = v;
    } else if (s === '--help' || s === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (s === '--') continue;
    else if (s.startsWith('-')) throw new Error(`unknown option ${s}\n${USAGE}`);
    else a.suites.push(s);
  }
  if (a.backend === undefined && argv.some((s) => s === '--backend' || s === '-b'))
    throw new Error(`--backend needs a value\n${USAGE}`);
  return a;
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n`);
    return 2;
  }
  if (args.list) {
    for (const s of listSuiteFiles()) process.stdout.write(`${s.name}\n`);
    return 0;
  }
  // A stray rejection inside a suite (a GPU callback, a forgotten await) must not kill the run between
  // cases: report it and carry on; the suite that caused it usually also fails visibly.
  process.on('unhandledRejection', (e) =>
    process.stderr.write(`bench: unhandled rejection: ${(e as Error)?.stack ?? e}\n`),
  );
  const records: BenchRecord[] = [];
  try {
    await runBenchmarks({
      suites: args.suites,
      backend: args.backend,
      quick: args.quick,
      suiteTimeoutS: args.timeoutS,
      onRecord: (r) => {
        records.push(r);
        // JSON lines stream as they come, so a long run shows its results early.
        if (args.json) printRecords([r], true);
      },
    });
  } catch (e) {
    process.stderr.write(`bench: ${e instanceof NqError ? e.message : ((e as Error)?.stack ?? e)}\n`);
    return 2;
  }
  if (!args.json) printRecords(records, false);
  return records.some((r) => r.op === 'error') ? 1 : 0;
}

main().then(
  (code) => {
    // Exit explicitly: a WebGPU device (dawn-node) keeps the event loop alive after the last suite.
    process.exit(code);
  },
  (e) => {
    process.stderr.write(`bench: ${(e as Error)?.stack ?? e}\n`);
    process.exitCode = 1;
  },
);
