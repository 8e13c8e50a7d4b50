import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { ResultRow } from '../store/row.js';
import type { KernelCell } from '../sweep/cell.js';
import { effectiveBits } from '../techniques/catalog.js';

/**
 * SVG plots rendered headless: Vega-Lite spec → Vega → SVG string, with Vega's 'none' renderer (no
 * canvas, no browser; text widths are estimated). One function per plot; each returns null when the
 * rows hold nothing to plot.
 */
export async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const kernelRows = (rows: ResultRow[]) =>
  rows.filter((r) => r.spec.study === 'kernel' || r.spec.study === 'layer');
/** What a kernel or layer row was measured on, for facets and legends. */
const sourceOf = (r: ResultRow) =>
  r.spec.study === 'layer' ? `${r.labels.model} L${r.labels.layer} ${r.labels.tap}` : r.labels.data!;
const channelsOf = (r: ResultRow) =>
  r.spec.study === 'kernel' ? (r.spec as KernelCell).data.channels : (r.metrics.channels ?? Number.NaN);

/** Block-size index: none → 1, bhad<b> → b, had → channels (the full transform). ro is not a block structure. */
function blockOf(r: ResultRow): number | null {
  const spec = (r.spec as KernelCell).rotation.spec;
  if (spec.kind === 'none') return 1;
  if (spec.kind === 'block-hadamard') return spec.block;
  if (spec.kind === 'hadamard') return channelsOf(r);
  return null;
}

/**
 * Bits vs error Pareto: x = bits per element of the activation quantizer (scales included), y = GEMM
 * relative MSE (log scale), one colour per rotation; the black line joins the Pareto-optimal points.
 * Model rows (if any) get the same plot with KLD.
 */
export async function paretoPlot(rows: ResultRow[]): Promise<string | null> {
  const pts = kernelRows(rows)
    .filter((r) => (r.spec as KernelCell).act.spec && r.metrics.gemm_rel_mse! > 0)
    .map((r) => ({
      bits: effectiveBits((r.spec as KernelCell).act.spec),
      error: r.metrics.gemm_rel_mse!,
      rotation: r.labels.rotation,
      quantizer: `${r.labels.act}${r.labels.weight !== 'none' ? ` / ${r.labels.weight}` : ''}`,
      data: sourceOf(r),
    }));
  const modelPts = rows
    .filter(
      (r) => r.spec.study === 'model' && r.metrics.kld_mean !== undefined && r.metrics.bits !== undefined,
    )
    .map((r) => ({
      bits: r.metrics.bits!,
      error: Math.max(r.metrics.kld_mean!, 1e-9),
      rotation: r.labels.recipe,
      quantizer: r.labels.recipe,
      data: `${r.labels.model} KLD`,
    }));
  const all = [...pts, ...modelPts];
  if (all.length === 0) return null;
  // Pareto front per data source: lowest error at ≤ bits.
  const front: typeof all = [];
  for (const d of new Set(all.map((p) => p.data))) {
    const ps = all.filter((p) => p.data === d).sort((a, b) => a.bits - b.bits || a.error - b.error);
    let best = Number.POSITIVE_INFINITY;
    for (const p of ps)
      if (p.error < best) {
        best = p.error;
        front.push(p);
      }
  }
  return renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Bits per element vs GEMM error (Pareto front in black)',
    facet: { field: 'data', type: 'nominal', title: null },
    columns: 2,
    spec: {
      width: 320,
      height: 220,
      layer: [
        {
          data: { values: all },
          mark: { type: 'point', filled: true, size: 50, opacity: 0.8 },
          encoding: {
            x: { field: 'bits', type: 'quantitative', title: 'bits / element', scale: { zero: false } },
            y: { field: 'error', type: 'quantitative', title: 'relative MSE (log)', scale: { type: 'log' } },
            color: { field: 'rotation', type: 'nominal' },
            shape: { field: 'quantizer', type: 'nominal' },
          },
        },
        {
          data: { values: front },
          mark: { type: 'line', color: 'black', point: false, strokeWidth: 1 },
          encoding: {
            x: { field: 'bits', type: 'quantitative' },
            y: { field: 'error', type: 'quantitative' },
          },
        },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  } as unknown as vl.TopLevelSpec);
}

/** Block-size spectrum: SQNR (dB) vs Hadamard block size (1 = no rotation, max = full), per quantizer. */
export async function blockSpectrumPlot(rows: ResultRow[]): Promise<string | null> {
  const pts = kernelRows(rows)
    .map((r) => ({ r, b: blockOf(r) }))
    .filter(
      ({ r, b }) =>
        b !== null && (r.metrics.act_sqnr_db !== undefined || r.metrics.gemm_sqnr_db !== undefined),
    )
    .map(({ r, b }) => ({
      block: b!,
      sqnr: r.metrics.act_sqnr_db ?? r.metrics.gemm_sqnr_db!,
      quantizer: r.labels.act !== 'none' ? r.labels.act : `W ${r.labels.weight}`,
      data: sourceOf(r),
      seed: r.labels.seed,
    }));
  if (new Set(pts.map((p) => p.block)).size < 3) return null;
  return renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Block-size spectrum: activation SQNR vs Hadamard block size (1 = none; mean over seeds)',
    data: { values: pts },
    facet: { field: 'data', type: 'nominal', title: null },
    columns: 2,
    spec: {
      width: 320,
      height: 220,
      mark: { type: 'line', point: true },
      encoding: {
        x: {
          field: 'block',
          type: 'quantitative',
          scale: { type: 'log', base: 2 },
          title: 'block size (log2)',
        },
        y: {
          aggregate: 'mean',
          field: 'sqnr',
          type: 'quantitative',
          title: 'SQNR dB (higher is better)',
          scale: { zero: false },
        },
        color: { field: 'quantizer', type: 'nominal' },
      },
    },
  } as unknown as vl.TopLevelSpec);
}

/**
 * Activation statistics: kurtosis and absmax/median before and after each rotation (how much a
 * rotation flattens outliers), per data profile; plus the per-layer reference statistics of a real
 * model when given (nq-docs-5M's ref.json `linear_input_stats`).
 */
export async function statsPlot(
  rows: ResultRow[],
  perLayer?: { layer: number; tap: string; kurtosis: number; top_channel_max_over_median: number }[],
): Promise<string | null> {
  const pts = kernelRows(rows).flatMap((r) =>
    r.metrics.x_kurtosis === undefined
      ? []
      : [
          {
            source: sourceOf(r),
            rotation: r.labels.rotation!,
            stage: 'after rotation',
            kurtosis: r.metrics.xr_kurtosis!,
          },
          {
            source: sourceOf(r),
            rotation: r.labels.rotation!,
            stage: 'before',
            kurtosis: r.metrics.x_kurtosis!,
          },
        ],
  );
  const layers = (perLayer ?? []).map((s) => ({
    source: `nq-docs-5M layer ${s.layer}`,
    rotation: s.tap,
    stage: 'real model (ref.json)',
    kurtosis: s.kurtosis,
  }));
  const all = [...pts.filter((p) => p.stage === 'after rotation'), ...layers];
  if (all.length === 0) return null;
  return renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title:
      'Kurtosis of linear-layer inputs: synthetic profiles after each rotation, and nq-docs-5M per layer',
    data: { values: all },
    width: 420,
    height: { step: 14 },
    mark: { type: 'point', filled: true, size: 60 },
    encoding: {
      y: { field: 'source', type: 'nominal', title: null },
      x: {
        aggregate: 'mean',
        field: 'kurtosis',
        type: 'quantitative',
        scale: { type: 'log' },
        title: 'kurtosis (log; 3 = Gaussian)',
      },
      color: { field: 'rotation', type: 'nominal', title: 'rotation / tap' },
    },
  } as unknown as vl.TopLevelSpec);
}

interface HistoryPoint {
  restart: number;
  phase: number;
  generation: number;
  best: number;
  mean: number;
  diversity: number;
}

/**
 * ES convergence: best-so-far and population-mean cost per generation of every discover row, one
 * line per seed (and restart), solid = best, dashed = mean; one panel per (model, input, target).
 * The x axis counts generations within a restart: the structure phase, then the sign phase (its
 * generation 0 is the re-seeded population, where the mean jumps).
 */
export async function esConvergencePlot(rows: ResultRow[]): Promise<string | null> {
  const pts: { panel: string; run: string; step: number; stat: string; cost: number; phase: string }[] = [];
  for (const r of rows) {
    if (r.spec.study !== 'discover') continue;
    const hist = (r.extra as { history?: HistoryPoint[] } | undefined)?.history;
    if (!hist?.length) continue;
    const panel = `${r.labels.model} L${r.labels.layer}.${r.labels.input} ${r.labels.target}`;
    const restarts = new Set(hist.map((h) => h.restart)).size;
    const step = new Map<number, number>();
    for (const h of hist) {
      const i = step.get(h.restart) ?? 0;
      step.set(h.restart, i + 1);
      const run = `seed ${r.labels.seed}${restarts > 1 ? ` restart ${h.restart}` : ''}`;
      const phase = h.phase === 1 ? 'structure' : 'signs';
      if (h.best > 0) pts.push({ panel, run, step: i, stat: 'best', cost: h.best, phase });
      if (h.mean > 0) pts.push({ panel, run, step: i, stat: 'mean', cost: h.mean, phase });
    }
  }
  if (pts.length === 0) return null;
  return renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'ES convergence: best-so-far (solid) and population-mean (dashed) cost per generation',
    data: { values: pts },
    facet: { field: 'panel', type: 'nominal', title: null },
    columns: 2,
    spec: {
      width: 340,
      height: 220,
      mark: { type: 'line', point: { size: 18 } },
      encoding: {
        x: {
          field: 'step',
          type: 'quantitative',
          title: 'generation (structure phase, then sign phase)',
        },
        y: { field: 'cost', type: 'quantitative', title: 'cost (log)', scale: { type: 'log' } },
        color: { field: 'run', type: 'nominal', title: 'run' },
        strokeDash: { field: 'stat', type: 'nominal', title: 'cost' },
        detail: { field: 'phase', type: 'nominal' },
      },
    },
    resolve: { scale: { y: 'independent' } },
  } as unknown as vl.TopLevelSpec);
}
