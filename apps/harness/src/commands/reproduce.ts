import fs from 'node:fs';
import path from 'node:path';
import { NqInputError } from '@nq/core';
import { fmt, renderTable } from '../report/table.js';
import { hashFiles, runFacts } from '../store/provenance.js';
import { ResultsStore } from '../store/results-store.js';
import type { ResultRow } from '../store/row.js';
import { cpuExecutor } from '../studies/execute.js';
import { specId } from '../util/canonical.js';
import { resultsDir } from '../util/paths.js';

export interface ReproduceOptions {
  results?: string[];
  tolerance?: number;
  print?: (s: string) => void;
}

export interface MetricDiff {
  metric: string;
  stored: number;
  now: number;
  absDiff: number;
  relDiff: number;
  ok: boolean;
}

export interface ReproduceResult {
  row: ResultRow;
  diffs: MetricDiff[];
  identical: boolean;
  withinTolerance: boolean;
  fileChanges: string[];
  /** Metrics the current code computes that the stored row does not have. */
  added: string[];
}

/** Finds the row in the given results files (default: every results/*.jsonl). */
export function findRow(rowId: string, files?: string[]): ResultRow {
  const list = files?.length
    ? files
    : fs.existsSync(resultsDir())
      ? fs
          .readdirSync(resultsDir())
          .filter((f) => f.endsWith('.jsonl'))
          .map((f) => path.join(resultsDir(), f))
      : [];
  if (list.length === 0)
    throw new NqInputError(
      '--results',
      'no results files to look in',
      'Run a sweep first, or pass --results <file.jsonl>.',
    );
  const hits: ResultRow[] = [];
  for (const f of list) {
    const s = ResultsStore.openRead(f);
    for (const r of s.latest()) if (r.cell.startsWith(rowId)) hits.push(r);
  }
  const cells = new Set(hits.map((h) => h.cell));
  if (cells.size === 0)
    throw new NqInputError(
      'row-id',
      `no row with id starting "${rowId}" in ${list.length} results file(s)`,
      'Copy the id from the "id" column of `nq report`.',
    );
  if (cells.size > 1)
    throw new NqInputError(
      'row-id',
      `"${rowId}" matches ${cells.size} rows`,
      'Give more characters of the id.',
    );
  return hits[hits.length - 1]!;
}

/** Recomputes a row from its stored spec and compares every metric. */
export async function reproduceRow(row: ResultRow, tolerance = 0): Promise<ReproduceResult> {
  if (specId(row.spec) !== row.cell) {
    throw new NqInputError(
      'row',
      `its spec hashes to ${specId(row.spec)}, not its id ${row.cell} (edited by hand?)`,
      'Reproduce an unedited row.',
    );
  }
  const out = await cpuExecutor()(row.spec);
  const diffs: MetricDiff[] = [];
  // Every stored metric must come back; metrics the current code adds are listed, not judged.
  const added = Object.keys(out.metrics).filter((m) => !(m in row.metrics));
  for (const m of Object.keys(row.metrics)) {
    const a = row.metrics[m] ?? Number.NaN;
    const b = out.metrics[m] ?? Number.NaN;
    const same = Object.is(a, b) || a === b;
    const absDiff = same ? 0 : Math.abs(a - b);
    const relDiff = same ? 0 : absDiff / Math.max(Math.abs(a), Math.abs(b), Number.MIN_VALUE);
    diffs.push({ metric: m, stored: a, now: b, absDiff, relDiff, ok: same || relDiff <= tolerance });
  }
  const now = hashFiles(out.files);
  const fileChanges = Object.entries(row.provenance.files)
    .filter(([f, h]) => now[f] !== undefined && now[f] !== h)
    .map(([f]) => f);
  return {
    row,
    diffs,
    added,
    identical: diffs.every((d) => d.absDiff === 0),
    withinTolerance: diffs.every((d) => d.ok),
    fileChanges,
  };
}

export async function reproduceCommand(rowId: string, o: ReproduceOptions = {}): Promise<number> {
  const print = o.print ?? ((s: string) => process.stdout.write(s));
  const row = findRow(rowId, o.results);
  const r = await reproduceRow(row, o.tolerance ?? 0);
  print(
    `row ${row.cell} (${row.sweep}: ${Object.entries(row.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')})\n`,
  );
  print(
    `stored ${row.created} at ${row.provenance.git} on ${row.provenance.backend}${row.provenance.adapter ? ` (${row.provenance.adapter})` : ''}\n`,
  );
  print(
    renderTable(
      ['metric', 'stored', 'now', 'abs diff', 'rel diff', ''],
      r.diffs.map((d) => [
        d.metric,
        fmt(d.stored, 6),
        fmt(d.now, 6),
        fmt(d.absDiff, 2),
        fmt(d.relDiff, 2),
        d.absDiff === 0 ? 'same' : d.ok ? 'within tol' : 'DIFFERS',
      ]),
    ),
  );
  if (r.added.length) print(`new metrics (not in the stored row): ${r.added.join(', ')}\n`);
  for (const f of r.fileChanges) print(`warning: input file ${f} changed since the row was stored\n`);
  const now = runFacts().git;
  if (!r.identical && now !== row.provenance.git) {
    print(
      `note: the code changed since the row was stored (${row.provenance.git} → ${now}); differences can come from a changed technique implementation (e.g. a new float summation order). Check out the stored commit to reproduce bit for bit, or pass --tolerance.\n`,
    );
  }
  print(
    r.identical
      ? 'reproduced exactly\n'
      : r.withinTolerance
        ? `reproduced within relative tolerance ${o.tolerance}\n`
        : 'NOT reproduced\n',
  );
  return r.withinTolerance ? 0 : 1;
}
