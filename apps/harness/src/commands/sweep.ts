import fs from 'node:fs';
import path from 'node:path';
import { NqInputError } from '@nq/core';
import YAML from 'yaml';
import { kernelPivot, modelTable } from '../report/table.js';
import { type RunSummary, runCells } from '../runner.js';
import { ResultsStore } from '../store/results-store.js';
import { cellExecutor, filterAvailable } from '../studies/execute.js';
import type { BackendTag } from '../sweep/cell.js';
import { expandGrid } from '../sweep/grid.js';
import { loadSweepFile } from '../sweep/load.js';
import type { Sweep } from '../sweep/schema.js';
import { BACKENDS, type GPUJS_MODES_FOR_SWEEPS, gpujsOps, webgpuOps } from '../techniques/ops.js';
import { resultsDir, sweepsDir } from '../util/paths.js';

export interface SweepCommandOptions {
  out?: string;
  force?: boolean;
  quick?: boolean;
  progress?: boolean;
  /** Stop after this many new rows (tests of resumption). */
  maxCells?: number;
  /** Backend of the kernel and layer cells' rotations and quantizers (default cpu). */
  backend?: string;
  /** gpu.js mode for --backend gpujs (default webgpu). */
  gpujsMode?: string;
  out_stream?: (s: string) => void;
  log?: (s: string) => void;
  shouldStop?: () => boolean;
}

/** `default` → sweeps/default.yaml; a path is taken as is. */
export function resolveSweepPath(config: string | undefined): string {
  const c = config ?? 'default';
  if (fs.existsSync(c) && fs.statSync(c).isFile()) return path.resolve(c);
  for (const ext of ['.yaml', '.yml', '.json']) {
    const p = path.join(sweepsDir(), `${c}${ext}`);
    if (fs.existsSync(p)) return p;
  }
  const names = listSweeps().map((s) => s.name);
  throw new NqInputError(
    'config',
    `no sweep file ${c} (looked in ${sweepsDir()} too)`,
    `Pass a .yaml/.json file or one of: ${names.join(', ')}.`,
  );
}

export function listSweeps(): { name: string; file: string; kind: string; hypothesis?: string }[] {
  const dir = sweepsDir();
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .map((f) => {
      const file = path.join(dir, f);
      try {
        const s = loadSweepFile(file);
        return { name: s.name, file, kind: s.kind, hypothesis: s.hypothesis };
      } catch (e) {
        return { name: f, file, kind: `INVALID: ${(e as Error).message.split('\n')[0]}` };
      }
    });
}

/**
 * CI-sized variant of a sweep: small matrices (64 tokens × 256 channels, 64 weight rows), its first
 * seed, 1 window per model cell. Blocks larger than 256 channels are dropped. Stored separately
 * (<name>-quick) since its cells are different cells.
 */
export function quickVariant(s: Sweep): Sweep {
  const q: Sweep = { ...s, name: `${s.name}-quick`, seeds: s.seeds.slice(0, 1) };
  if (s.kernel) {
    q.kernel = {
      ...s.kernel,
      tokens: Math.min(s.kernel.tokens, 64),
      channels: Math.min(s.kernel.channels, 256),
      out: Math.min(s.kernel.out, 64),
      rotations: s.kernel.rotations.filter(
        (r) => !/^bhad(\d+)$/.test(r) || Number(r.slice(4)) <= Math.min(s.kernel!.channels, 256),
      ),
    };
  }
  if (s.model) q.model = { ...s.model, windows: 1 };
  if (s.discover)
    q.discover = {
      ...s.discover,
      chars: Math.min(s.discover.chars, 40_000),
      ctx: Math.min(s.discover.ctx, 64),
      windows: Math.min(s.discover.windows, 2),
      tokens: Math.min(s.discover.tokens, 64),
      holdout_tokens: Math.min(s.discover.holdout_tokens, 128),
      population: Math.min(s.discover.population, 6),
      generations: Math.min(s.discover.generations, 3),
      sign_generations: Math.min(s.discover.sign_generations, 1),
      restarts: 1,
      ...(s.discover.model_check
        ? {
            model_check: {
              ...s.discover.model_check,
              windows: 1,
              ctx: Math.min(s.discover.model_check.ctx, 128),
            },
          }
        : {}),
    };
  if (s.geometry)
    q.geometry = {
      ...s.geometry,
      windows: Math.min(s.geometry.windows, 8),
      held_out_windows: Math.min(s.geometry.held_out_windows, 2),
      folds: Math.min(s.geometry.folds, 2),
      corrector_iterations: Math.min(s.geometry.corrector_iterations, 20),
    };
  return q;
}

export interface SweepResult {
  sweep: Sweep;
  summary: RunSummary;
  storeFile: string;
  notes: string[];
}

export async function sweepCommand(
  config: string | undefined,
  o: SweepCommandOptions = {},
): Promise<SweepResult> {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const print = o.out_stream ?? ((m: string) => process.stdout.write(m));
  const file = resolveSweepPath(config);
  let sweep = loadSweepFile(file);
  if (o.quick) sweep = quickVariant(sweep);
  const backend = await backendTag(o.backend ?? 'cpu', o.gpujsMode);
  if (backend) log(`backend: ${backend.name} on ${backend.adapter} (kernel and layer cells)`);
  const grid = expandGrid(sweep, backend ? { backend } : {});
  const avail = filterAvailable(grid.cells);
  const notes = [...grid.notes, ...avail.notes];
  for (const n of notes) log(`note: ${n}`);
  const storeFile = path.resolve(o.out ?? path.join(resultsDir(), `${sweep.name}.jsonl`));
  const store = ResultsStore.openWrite(storeFile);
  if (store.truncatedBytes)
    log(
      `note: dropped a torn last line (${store.truncatedBytes} bytes) from ${storeFile}: that cell is recomputed`,
    );
  if (store.skipped) log(`note: ${store.skipped} unverifiable line(s) in ${storeFile} ignored`);
  let summary: RunSummary;
  let budget = o.maxCells ?? Number.POSITIVE_INFINITY;
  try {
    log(`${sweep.name}: ${avail.cells.length} cells (${file}) → ${storeFile}`);
    summary = await runCells({
      sweepName: sweep.name,
      cells: avail.cells,
      store,
      execute: cellExecutor(),
      force: o.force,
      progress: o.progress,
      log,
      shouldStop: () => budget <= 0 || (o.shouldStop?.() ?? false),
      onRow: () => {
        budget--;
      },
    });
    const ids = new Set(avail.cells.map((c) => c.id));
    const rows = store.latest().filter((r) => ids.has(r.cell));
    const kt = kernelPivot(rows);
    const lt = kernelPivot(rows, false, 'layer');
    const mt = modelTable(rows);
    if (kt)
      print(
        `\n${sweep.name} — kernel level (synthetic activations; SQNR dB, higher is better; mean over seeds)\n${kt}`,
      );
    if (lt)
      print(`\n${sweep.name} — layer level (real activations and weights; SQNR dB, higher is better)\n${lt}`);
    if (mt) print(`\n${sweep.name} — model level\n${mt}`);
    if (rows.some((r) => r.spec.study === 'discover')) {
      const { discoverTable } = await import('../studies/discover-study.js');
      print(
        `\n${sweep.name} — ES discovery (relative error, search / held-out rows)\n${discoverTable(rows)}`,
      );
    }
    if (rows.some((r) => r.spec.study === 'geometry')) {
      const { geometryTable } = await import('../studies/geometry-study.js');
      print(`\n${sweep.name} — geometry correction (Q1 / Q2 per setting)\n${geometryTable(rows)}`);
    }
    print(
      `\n${summary.computed} computed, ${summary.skipped} already stored, ${rows.length}/${avail.cells.length} cells in ${path.relative(process.cwd(), storeFile) || storeFile}` +
        `${summary.interrupted ? ' — INTERRUPTED, rerun to resume' : ''} (${summary.seconds.toFixed(1)} s)\n`,
    );
  } finally {
    store.close();
  }
  return { sweep, summary, storeFile, notes };
}

/**
 * The backend tag of `--backend` (null for cpu). Acquires the device now, so a backend that cannot
 * run here stops the sweep before any cell with @nq/core's NqBackendError saying what is missing —
 * never a silent CPU run.
 */
export async function backendTag(name: string, gpujsMode?: string): Promise<BackendTag | null> {
  if (!(BACKENDS as readonly string[]).includes(name))
    throw new NqInputError('--backend', `is ${JSON.stringify(name)}`, `Use one of ${BACKENDS.join(', ')}.`);
  if (gpujsMode !== undefined && name !== 'gpujs')
    throw new NqInputError(
      '--gpujs-mode',
      `was given with --backend ${name}`,
      'Use it with --backend gpujs only.',
    );
  if (name === 'cpu') return null;
  if (name === 'webgpu') return (await webgpuOps()).tag;
  return (await gpujsOps((gpujsMode ?? 'webgpu') as (typeof GPUJS_MODES_FOR_SWEEPS)[number])).tag;
}

/** For `nq sweep --print`: the expanded sweep with defaults filled in. */
export function printResolved(config: string | undefined, quick: boolean): string {
  let s = loadSweepFile(resolveSweepPath(config));
  if (quick) s = quickVariant(s);
  return YAML.stringify(s);
}
