import { SingleBar } from 'cli-progress';
import { hashFiles, runFacts } from './store/provenance.js';
import type { ResultsStore } from './store/results-store.js';
import type { ResultRow } from './store/row.js';
import type { CellOutcome } from './studies/kernel-study.js';
import { type CellSpec, cellLabels } from './sweep/cell.js';
import type { Cell } from './sweep/grid.js';

/** Runs one cell; `progress` reports steps inside a long cell (e.g. evaluation windows). */
export type Executor = (spec: CellSpec, progress?: (msg: string) => void) => Promise<CellOutcome>;

export interface RunOptions {
  sweepName: string;
  cells: Cell[];
  store: ResultsStore;
  execute: Executor;
  /** Recompute cells that already have a row (a new row supersedes the old one). */
  force?: boolean;
  /** Progress bar on stderr (default: when stderr is a TTY; else a line every ~10%). */
  progress?: boolean;
  log?: (msg: string) => void;
  /** Stop before the next cell when this returns true (set by the SIGINT handler). */
  shouldStop?: () => boolean;
  /** For tests: called after each appended row. */
  onRow?: (row: ResultRow) => void;
}

export interface RunSummary {
  total: number;
  computed: number;
  skipped: number;
  /** True when the run stopped early (Ctrl-C). */
  interrupted: boolean;
  seconds: number;
}

/**
 * Runs every cell that has no row yet (or all, with force), appending one row per finished cell.
 * A row is fsynced before the next cell starts, so a crash or kill loses at most the cell in
 * progress; rerunning picks up exactly where it stopped.
 */
export async function runCells(o: RunOptions): Promise<RunSummary> {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const todo = o.cells.filter((c) => o.force || !o.store.has(c.id));
  const skipped = o.cells.length - todo.length;
  const t0 = performance.now();
  if (skipped > 0)
    log(
      `${o.sweepName}: ${skipped}/${o.cells.length} cells already in ${o.store.file}, skipped${o.force ? '' : ' (--force recomputes)'}`,
    );
  if (todo.length === 0)
    return { total: o.cells.length, computed: 0, skipped, interrupted: false, seconds: 0 };

  const tty = o.progress ?? !!process.stderr.isTTY;
  const bar = tty
    ? new SingleBar({
        stream: process.stderr,
        format: `${o.sweepName} [{bar}] {value}/{total} cells | {percentage}% | ETA {eta_formatted} | {label}`,
        barsize: 24,
        etaBuffer: 20,
        hideCursor: true,
      })
    : null;
  bar?.start(todo.length, 0, { label: '' });
  let lastPct = -1;
  let computed = 0;
  let interrupted = false;
  const facts = runFacts();
  try {
    for (const cell of todo) {
      // Yield to the event loop so a pending SIGINT is seen between cells.
      await new Promise((r) => setImmediate(r));
      if (o.shouldStop?.()) {
        interrupted = true;
        break;
      }
      const labels = cellLabels(cell.spec);
      bar?.update(computed, { label: shortLabel(labels) });
      const out = await o.execute(cell.spec, (msg) => {
        if (!bar) return;
        bar.update(computed, { label: `${shortLabel(labels)}: ${msg}` });
        // Long cells run synchronously, so the bar's own timer cannot fire: draw now.
        (bar as unknown as { render?: () => void }).render?.();
      });
      const row: ResultRow = {
        v: 1,
        cell: cell.id,
        sweep: o.sweepName,
        spec: cell.spec,
        // A model cell's outcome may add labels (its recipe's number format, for verdict pairs).
        labels: { ...labels, ...(out as { labels?: Record<string, string> }).labels },
        metrics: out.metrics,
        ...(out.extra ? { extra: out.extra } : {}),
        timings: out.timings,
        provenance: {
          git: facts.git,
          packages: facts.packages,
          node: facts.node,
          platform: facts.platform,
          cpu: facts.cpu,
          backend: out.backend,
          ...(out.adapter ? { adapter: out.adapter } : {}),
          seeds: out.seeds,
          files: hashFiles(out.files),
        },
        created: new Date().toISOString(),
      };
      o.store.append(row);
      computed++;
      o.onRow?.(row);
      if (bar) bar.update(computed, { label: shortLabel(labels) });
      else {
        const pct = Math.floor((10 * computed) / todo.length);
        if (pct !== lastPct) {
          lastPct = pct;
          const el = (performance.now() - t0) / 1000;
          const eta = (el / computed) * (todo.length - computed);
          log(
            `${o.sweepName}: ${computed}/${todo.length} cells, ${el.toFixed(1)} s, ETA ${eta.toFixed(0)} s`,
          );
        }
      }
    }
  } finally {
    bar?.stop();
  }
  return { total: o.cells.length, computed, skipped, interrupted, seconds: (performance.now() - t0) / 1000 };
}

function shortLabel(l: Record<string, string>): string {
  const { study: _s, ...rest } = l;
  return Object.values(rest).join(' ');
}
