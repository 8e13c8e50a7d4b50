import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NqInputError } from '@nq/core';
import type { BenchRecord } from '@nq/core/bench';
import { cpuMachineName } from '@nq/core/bench';
import type { Suite, SuiteContext } from './suite.js';
import { measureTriad } from './triad.js';

/**
 * The benchmark runner behind `pnpm bench` and `nq bench`. Order of a run:
 *  1. measure the triad baseline (memory GB/s, 1 thread and all threads) — every time, first, so every
 *     ratio in the run is against this machine in this state;
 *  2. run the selected suites one after another; a suite that throws (or cannot even be imported)
 *     becomes one error record and the run goes on.
 */
export interface RunOptions {
  /** Suite names (file names in src/suites without .ts, or a suite's `name`); empty = all. */
  suites?: string[];
  /** Only this backend: 'cpu' | 'webgpu' | 'gpujs'. */
  backend?: string;
  /** Small sizes, few samples (CI smoke runs). */
  quick?: boolean;
  /** Progress (default: stderr). */
  log?: (msg: string) => void;
  /** Called with each record as soon as its suite finishes (for streaming output). */
  onRecord?: (r: BenchRecord) => void;
  /** Where suites live (default: this package's src/suites). */
  suitesDir?: string;
  /**
   * Give up on a suite after this many seconds (default: never): it becomes an error record and the run
   * moves on. Its work cannot be cancelled and may go on in the background, so later timings in the same
   * run can be disturbed — the record says so.
   */
  suiteTimeoutS?: number;
  /** Triad overrides (tests use tiny arrays); NQ_BENCH_TRIAD_N sets the array length from outside. */
  triad?: { n?: number; threads?: number; passes?: number };
}

export interface SuiteInfo {
  name: string;
  file: string;
}

export const BACKENDS = ['cpu', 'webgpu', 'gpujs'] as const;

// NQ_BENCH_SUITES_DIR lets a bundled copy of the runner (scripts/device-bundle.sh, for the GPU machine,
// which has no pnpm or TypeScript) find suites bundled beside it.
const defaultSuitesDir =
  process.env.NQ_BENCH_SUITES_DIR ?? fileURLToPath(new URL('./suites/', import.meta.url));

/** Suite files in `dir` (one suite per file; the file name is the suite's name on the command line). */
export function listSuiteFiles(dir = defaultSuitesDir): SuiteInfo[] {
  return readdirSync(dir)
    .filter((f) => /\.(ts|js|mts|mjs)$/.test(f) && !/\.d\.ts$/.test(f) && !/\.test\./.test(f))
    .sort()
    .map((f) => ({ name: f.replace(/\.[mc]?[tj]s$/, ''), file: path.join(dir, f) }));
}

/** Imports one suite module and checks that its default export is a Suite. */
export async function loadSuite(file: string): Promise<Suite> {
  const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  const s = mod.default as Partial<Suite> | undefined;
  if (!s || typeof s !== 'object' || typeof s.name !== 'string' || typeof s.run !== 'function') {
    throw new Error(`${path.basename(file)} does not default-export a Suite { name, description, run(ctx) }`);
  }
  return s as Suite;
}

/** Picks the suite files to run; unknown names throw an NqInputError listing every suite. */
export function selectSuites(all: SuiteInfo[], wanted: string[] | undefined): SuiteInfo[] {
  if (!wanted?.length) return all;
  const unknown = wanted.filter((w) => !all.some((s) => s.name === w));
  if (unknown.length) {
    throw new NqInputError(
      'suite',
      `unknown benchmark suite${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')}`,
      `Use one of: ${all.map((s) => s.name).join(', ')} (or none for all).`,
    );
  }
  return all.filter((s) => wanted.includes(s.name));
}

/** One record that stands for a failed suite, so a failure is visible in the output and the run goes on. */
export function errorRecord(
  suite: string,
  backend: string | undefined,
  err: unknown,
  machine: string,
): BenchRecord {
  const e = err as Error;
  return {
    suite,
    op: 'error',
    backend: backend ?? 'all',
    n: 0,
    median_ms: Number.NaN,
    p75_ms: Number.NaN,
    p99_ms: Number.NaN,
    samples: 0,
    machine,
    error: e?.message ?? String(err),
  };
}

export async function runBenchmarks(options: RunOptions = {}): Promise<BenchRecord[]> {
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  if (options.backend !== undefined && !(BACKENDS as readonly string[]).includes(options.backend)) {
    throw new NqInputError(
      'backend',
      `unknown backend "${options.backend}"`,
      `Use one of: ${BACKENDS.join(', ')}.`,
    );
  }
  const selected = selectSuites(listSuiteFiles(options.suitesDir), options.suites);
  const machine = cpuMachineName();
  const quick = options.quick ?? false;
  const out: BenchRecord[] = [];
  const emit = (recs: BenchRecord[]) => {
    for (const r of recs) {
      out.push(r);
      options.onRecord?.(r);
    }
  };

  log(`bench: triad baseline (${quick ? 'quick' : 'full'}) on ${machine}`);
  const baselines = new Map<string, number>();
  let baselineRecords: BenchRecord[] = [];
  try {
    const envN = Number(process.env.NQ_BENCH_TRIAD_N) || undefined;
    const n = options.triad?.n ?? envN ?? (quick ? 8 * 1024 * 1024 : undefined);
    const t = await measureTriad({ ...options.triad, n, log });
    baselines.set('triad-1t', t.gbps1t);
    baselines.set('triad-all', t.gbpsAll);
    baselineRecords = t.records;
    log(
      `bench: triad-1t ${t.gbps1t.toFixed(2)} GB/s, triad-all ${t.gbpsAll.toFixed(2)} GB/s (${t.threads} threads)`,
    );
  } catch (e) {
    // Without a baseline the suites still run; their ratios are simply absent.
    log(`bench: triad baseline failed: ${(e as Error).message}`);
    baselineRecords = [errorRecord('triad', 'cpu', e, machine)];
  }
  emit(baselineRecords);

  for (const info of selected) {
    if (info.name === 'triad') continue; // already measured and emitted above
    const ctx: SuiteContext = { backend: options.backend, quick, baselines, machine, log, baselineRecords };
    const t0 = performance.now();
    try {
      log(`bench: ${info.name} …`);
      const suite = await loadSuite(info.file);
      const recs = await withTimeout(suite.run(ctx), options.suiteTimeoutS, info.name);
      if (!Array.isArray(recs))
        throw new Error(`suite ${info.name} returned ${typeof recs}, not an array of records`);
      emit(options.backend ? recs.filter((r) => r.backend === options.backend || r.op === 'error') : recs);
      log(
        `bench: ${info.name} done (${recs.length} records, ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
      );
    } catch (e) {
      log(`bench: ${info.name} FAILED: ${(e as Error)?.stack ?? e}`);
      emit([errorRecord(info.name, options.backend, e, machine)]);
    }
  }
  return out;
}

function withTimeout<T>(p: Promise<T>, seconds: number | undefined, name: string): Promise<T> {
  if (!seconds || seconds <= 0) return p;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `suite ${name} timed out after ${seconds} s (its work may still be running; later timings in this run may be disturbed)`,
          ),
        ),
      seconds * 1000,
    );
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
