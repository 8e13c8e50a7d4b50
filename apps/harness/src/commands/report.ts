import fs from 'node:fs';
import path from 'node:path';
import { NqInputError } from '@nq/core';
import { blockSpectrumPlot, esConvergencePlot, paretoPlot, statsPlot } from '../report/plots.js';
import { fmt, kernelPivot, modelTable, renderTable } from '../report/table.js';
import { type Judgement, judge } from '../report/verdict.js';
import { ResultsStore } from '../store/results-store.js';
import type { ResultRow } from '../store/row.js';
import { discoverComparisonRows, discoverTable } from '../studies/discover-study.js';
import { geometryComparisonRows, geometryTable } from '../studies/geometry-study.js';
import type { BackendTag } from '../sweep/cell.js';
import { expandGrid } from '../sweep/grid.js';
import { loadSweepFile } from '../sweep/load.js';
import type { Sweep } from '../sweep/schema.js';
import { resultsDir, sharedDir, sweepsDir } from '../util/paths.js';
import { quickVariant } from './sweep.js';

export interface ReportOptions {
  outDir?: string;
  stdout?: boolean;
  print?: (s: string) => void;
  /** Sweep files to read hypotheses and grids from before sweeps/<name>.yaml (sweeps kept elsewhere). */
  sweepFiles?: string[];
}

export interface ReportResult {
  markdownFile: string;
  svgFiles: string[];
  judgements: Judgement[];
}

function resolveResults(r: string): string {
  if (fs.existsSync(r)) return path.resolve(r);
  const p = path.join(resultsDir(), `${r}.jsonl`);
  if (fs.existsSync(p)) return p;
  throw new NqInputError(
    'results',
    `${r} is neither a file nor a sweep with results in ${resultsDir()}`,
    'Pass a results .jsonl file written by `nq sweep`.',
  );
}

/** The sweep definition a set of rows came from (sweeps/<name>.yaml; "-quick" maps to the quick variant). */
function sweepFor(name: string, extra: Sweep[] = []): Sweep | null {
  const given = extra.find((s) => s.name === name) ?? extra.find((s) => `${s.name}-quick` === name);
  if (given) return given.name === name ? given : quickVariant(given);
  const base = name.replace(/-quick$/, '');
  for (const ext of ['.yaml', '.yml', '.json']) {
    const f = path.join(sweepsDir(), `${base}${ext}`);
    if (fs.existsSync(f)) {
      try {
        const s = loadSweepFile(f);
        return name.endsWith('-quick') ? quickVariant(s) : s;
      } catch {
        return null;
      }
    }
  }
  return null;
}

function readPerLayerStats():
  | { layer: number; tap: string; kurtosis: number; top_channel_max_over_median: number }[]
  | undefined {
  const f = path.join(sharedDir(), 'models', 'nq-docs-5M', 'nq-docs-5M.ref.json');
  if (!fs.existsSync(f)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(f, 'utf8')).linear_input_stats;
  } catch {
    return undefined;
  }
}

const BADGE: Record<string, string> = {
  success: '✅ success',
  failure: '❌ failure',
  inconclusive: '❔ inconclusive',
  baseline: '📏 baseline',
};

/**
 * `nq report <results...>`: for each sweep found in the files, its hypothesis and verdict (the
 * experiment registry), the kernel pivot and model tables, every row with its id (for
 * `nq reproduce`), and SVG plots (Pareto, block-size spectrum, activation statistics) beside the
 * markdown in the output folder.
 */
export async function reportCommand(results: string[], o: ReportOptions = {}): Promise<ReportResult> {
  const print = o.print ?? ((s: string) => process.stdout.write(s));
  const files = results.map(resolveResults);
  const given = (o.sweepFiles ?? []).map((f) => loadSweepFile(f));
  const outDir = path.resolve(o.outDir ?? path.join(resultsDir(), 'report'));
  fs.mkdirSync(outDir, { recursive: true });
  const bySweep = new Map<string, ResultRow[]>();
  for (const f of files) {
    const s = ResultsStore.openRead(f);
    if (s.skipped) print(`note: ${s.skipped} unverifiable line(s) in ${f} ignored\n`);
    for (const r of s.latest()) {
      if (!bySweep.has(r.sweep)) bySweep.set(r.sweep, []);
      bySweep.get(r.sweep)!.push(r);
    }
  }
  if (bySweep.size === 0)
    throw new NqInputError('results', `no rows in ${files.join(', ')}`, 'Run `nq sweep` first.');

  const md: string[] = [
    '# nq report',
    '',
    `Generated ${new Date().toISOString()} from ${files.map((f) => `\`${path.basename(f)}\``).join(', ')}.`,
    '',
  ];
  const judgements: Judgement[] = [];
  const svgFiles: string[] = [];
  const perLayer = readPerLayerStats();

  // The registry first: one line per sweep.
  const sweeps = [...bySweep.keys()].sort();
  // A results file may hold rows of older versions of a sweep (another profile, another builder):
  // those cells are no longer in the sweep's grid. Judge and tabulate the current grid only.
  const stale = new Map<string, number>();
  for (const name of sweeps) {
    const def = sweepFor(name, given);
    if (def) {
      // The grid on every backend the rows ran on (a GPU row's spec names its backend and adapter).
      const tags = new Map<string, BackendTag | undefined>([['cpu', undefined]]);
      for (const r of bySweep.get(name)!) {
        const b = (r.spec as { backend?: unknown }).backend;
        if (b && typeof b === 'object') tags.set(JSON.stringify(b), b as BackendTag);
      }
      const ids = new Set(
        [...tags.values()].flatMap((backend) =>
          expandGrid(def, backend ? { backend } : {}).cells.map((c) => c.id),
        ),
      );
      const all = bySweep.get(name)!;
      const current = all.filter((r) => ids.has(r.cell));
      if (current.length < all.length) stale.set(name, all.length - current.length);
      if (current.length > 0) bySweep.set(name, current);
    }
  }
  for (const name of sweeps) {
    const def = sweepFor(name, given);
    const rows = judgeable(bySweep.get(name)!);
    if (def) {
      judgements.push(judge(def, rows));
      // Further hypotheses on the same rows, as <sweep>/<check> lines of the registry.
      for (const c of def.checks ?? [])
        judgements.push(
          judge({ ...def, name: `${name}/${c.name}`, hypothesis: c.hypothesis, verdict: c }, rows),
        );
      continue;
    }
    judgements.push({
      sweep: name,
      outcome: 'inconclusive',
      agreement: '–',
      seeds: [],
      evidence: `no sweep file sweeps/${name.replace(/-quick$/, '')}.yaml to read the hypothesis from`,
    });
  }
  md.push('## Experiment registry', '');
  md.push(
    renderTable(
      ['sweep', 'outcome', 'agreement', 'hypothesis'],
      judgements.map((j) => [j.sweep, BADGE[j.outcome]!, j.agreement, j.hypothesis ?? '–']),
      true,
    ),
  );

  for (const name of sweeps) {
    const rows = bySweep.get(name)!;
    md.push(`## ${name}`, '');
    for (const j of judgements.filter((x) => x.sweep === name || x.sweep.startsWith(`${name}/`))) {
      const sub = j.sweep === name ? '' : ` (${j.sweep.slice(name.length + 1)})`;
      if (j.hypothesis) md.push(`**Hypothesis${sub}.** ${j.hypothesis}`, '');
      md.push(`**Outcome${sub}: ${BADGE[j.outcome]}** (${j.agreement}). ${j.evidence}`, '');
    }
    if (stale.has(name))
      md.push(
        `_${stale.get(name)} row(s) of cells no longer in sweeps/${name.replace(/-quick$/, '')}.yaml (an older version of the sweep) are not shown._`,
        '',
      );
    const kt = kernelPivot(rows, true);
    if (kt)
      md.push(
        'Kernel level, synthetic activations — SQNR in dB (higher is better), mean over seeds:',
        '',
        kt,
      );
    const lt = kernelPivot(rows, true, 'layer');
    if (lt) md.push('Layer level, real activations and weights — SQNR in dB, mean over seeds:', '', lt);
    const mt = modelTable(rows, true);
    if (mt) md.push('Model level:', '', mt);
    const dt = discoverTable(rows, true);
    if (dt)
      md.push(
        'ES discovery — relative error (search / held-out rows) of identity (none), full random Hadamard (had), block random Hadamard and the rotation found; with the model check, W4A4 KLD vs full precision (random Hadamard on every other input):',
        '',
        dt,
      );
    const gt = geometryTable(rows, true);
    if (gt)
      md.push(
        "Geometry correction — per setting (model × seed), @nq/geometry-correction `runSetting`; Q1/Q2 are the package's own verdicts:",
        '',
        gt,
      );
    const plots: [string, string | null][] = [
      ['pareto', await paretoPlot(rows)],
      ['block-spectrum', await blockSpectrumPlot(rows)],
      ['activation-stats', await statsPlot(rows, perLayer)],
      ['es-convergence', await esConvergencePlot(rows)],
    ];
    for (const [kind, svg] of plots) {
      if (!svg) continue;
      const f = path.join(outDir, `${name}.${kind}.svg`);
      fs.writeFileSync(f, svg);
      svgFiles.push(f);
      md.push(`![${name} ${kind}](${path.basename(f)})`, '');
    }
    md.push('<details><summary>All rows (id → `nq reproduce <id>`)</summary>', '');
    md.push(rowListing(rows), '</details>', '');
    const prov = rows[0]!.provenance;
    md.push(
      `Provenance of the first row: git \`${prov.git}\`, ${prov.backend}${prov.adapter ? ` (${prov.adapter})` : ''}, ${prov.cpu}, node ${prov.node}.`,
      '',
    );
  }
  const markdownFile = path.join(outDir, 'report.md');
  fs.writeFileSync(markdownFile, md.join('\n'));
  if (o.stdout) print(md.join('\n'));
  else {
    print(
      renderTable(
        ['sweep', 'outcome', 'agreement'],
        judgements.map((j) => [j.sweep, j.outcome, j.agreement]),
      ),
    );
    print(`report: ${markdownFile} (+ ${svgFiles.length} SVG plots)\n`);
  }
  return { markdownFile, svgFiles, judgements };
}

/**
 * The rows a verdict judges: a discover row becomes one row per compared rotation, a geometry row one
 * row per corrector (see discoverComparisonRows / geometryComparisonRows); other rows as they are.
 */
function judgeable(rows: ResultRow[]): ResultRow[] {
  return rows.flatMap((r) =>
    r.spec.study === 'discover'
      ? discoverComparisonRows(r)
      : r.spec.study === 'geometry'
        ? geometryComparisonRows(r)
        : [r],
  );
}

function rowListing(rows: ResultRow[]): string {
  const metricNames = [
    'act_sqnr_db',
    'w_sqnr_db',
    'gemm_sqnr_db',
    'gemm_rel_mse',
    'ppl',
    'kld_mean',
    'top1',
  ].filter((m) => rows.some((r) => r.metrics[m] !== undefined));
  const labelNames = [...new Set(rows.flatMap((r) => Object.keys(r.labels)))].filter((l) => l !== 'study');
  return renderTable(
    ['id', ...labelNames, ...metricNames],
    rows.map((r) => [
      r.cell,
      ...labelNames.map((l) => r.labels[l] ?? ''),
      ...metricNames.map((m) => fmt(r.metrics[m], 4)),
    ]),
    true,
  );
}
