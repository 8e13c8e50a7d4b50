import type { ResultRow } from '../store/row.js';

/** A plain-text or markdown table. Numbers right-aligned. */
export function renderTable(header: string[], rows: string[][], markdown = false): string {
  if (markdown) {
    const esc = (s: string) => s.replace(/\|/g, '\\|');
    const lines = [
      `| ${header.map(esc).join(' | ')} |`,
      `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ];
    for (const r of rows) lines.push(`| ${r.map(esc).join(' | ')} |`);
    return `${lines.join('\n')}\n`;
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return `${[line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')}\n`;
}

export function fmt(v: number | undefined, digits = 2): string {
  if (v === undefined || Number.isNaN(v)) return '–';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(digits);
  return v.toFixed(digits);
}

export function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN;
}

/**
 * The kernel results as one pivot table: a row per (data, act quantizer, weight method), a column per
 * rotation, each entry the SQNR in dB (higher is better) averaged over seeds — of the GEMM output
 * when a weight quantizer is set, else of the activations.
 */
export function kernelPivot(
  rows: ResultRow[],
  markdown = false,
  study: 'kernel' | 'layer' = 'kernel',
): string {
  const k = rows.filter((r) => r.spec.study === study);
  if (k.length === 0) return '';
  const rots = unique(k.map((r) => r.labels.rotation!));
  // Every label but rotation (the columns), seed (averaged) and study names a row of the pivot.
  const axes = Object.keys(k[0]!.labels).filter((l) => l !== 'rotation' && l !== 'seed' && l !== 'study');
  const groups = new Map<string, ResultRow[]>();
  for (const r of k) {
    const key = axes.map((a) => r.labels[a]).join('\u0000');
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(r);
  }
  const header = [...axes, 'metric', ...rots, 'seeds'];
  const body: string[][] = [];
  for (const [key, rs] of groups) {
    const vals = key.split('\u0000');
    const act = rs[0]!.labels.act;
    const weight = rs[0]!.labels.weight;
    const metric = weight !== 'none' || act === 'none' ? 'gemm_sqnr_db' : 'act_sqnr_db';
    const cells = rots.map((rot) => {
      const v = rs
        .filter((r) => r.labels.rotation === rot && r.metrics[metric] !== undefined)
        .map((r) => r.metrics[metric]!);
      return v.length ? fmt(mean(v), 1) : '';
    });
    body.push([
      ...vals,
      metric.replace('_sqnr_db', ' SQNR dB'),
      ...cells,
      String(unique(rs.map((r) => r.labels.seed!)).length),
    ]);
  }
  return renderTable(header, body, markdown);
}

/** Model-level rows: one line per (model, text, recipe), metrics averaged over seeds. */
export function modelTable(rows: ResultRow[], markdown = false): string {
  const m = rows.filter((r) => r.spec.study === 'model');
  if (m.length === 0) return '';
  const header = ['model', 'text', 'recipe', 'PPL', 'ΔPPL', 'KLD', 'top-1 %', 'windows', 'seeds'];
  const groups = new Map<string, ResultRow[]>();
  for (const r of m) {
    const key = `${r.labels.model}\u0000${r.labels.text}\u0000${r.labels.recipe}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(r);
  }
  const body: string[][] = [];
  for (const [key, rs] of groups) {
    const [model, text, recipe] = key.split('\u0000') as [string, string, string];
    const avg = (name: string) =>
      mean(rs.map((r) => r.metrics[name]).filter((v): v is number => v !== undefined));
    body.push([
      model,
      text,
      recipe,
      fmt(avg('ppl'), 3),
      fmt(avg('ppl_delta'), 3),
      fmt(avg('kld_mean'), 5),
      fmt(avg('top1') * 100, 2),
      fmt(avg('windows'), 0),
      String(rs.length),
    ]);
  }
  return renderTable(header, body, markdown);
}

export function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
