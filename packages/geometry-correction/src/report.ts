// Results as files: CSVs (deterministic number formatting, no timings) and the README section.

import type { Q1UnitMetrics } from './q1.js';
import type { Q2UnitRow } from './q2.js';
import type { SettingResult, SettingSummary } from './setting.js';
import { median, spearman } from './stats.js';

/** Numbers with 6 significant digits (NaN as 'nan'): stable across reruns, small files. */
export function fmt(v: unknown): string {
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'nan';
    if (Number.isInteger(v)) return String(v);
    return Number(v.toPrecision(6)).toString();
  }
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv<T extends object>(rows: T[], columns?: (keyof T)[]): string {
  if (rows.length === 0) return '';
  const cols = columns ?? (Object.keys(rows[0]!) as (keyof T)[]);
  const lines = [cols.map(String).join(',')];
  for (const r of rows) lines.push(cols.map((c) => fmt(r[c])).join(','));
  return `${lines.join('\n')}\n`;
}

export function q1Rows(results: SettingResult[]): (Q1UnitMetrics & { model: string; seed: number })[] {
  return results.flatMap((r) => r.q1.map((m) => ({ model: r.summary.model, seed: r.summary.seed, ...m })));
}

export function q2Rows(results: SettingResult[]): (Q2UnitRow & { model: string; seed: number })[] {
  return results.flatMap((r) => r.q2.map((m) => ({ model: r.summary.model, seed: r.summary.seed, ...m })));
}

/** A per-setting summary as metric,value lines. */
export function settingCsv(s: SettingSummary): string {
  return `metric,value\n${Object.entries(s)
    .map(([k, v]) => `${k},${fmt(v)}`)
    .join('\n')}\n`;
}

export interface ProfileRow {
  group: 'depth' | 'sublayer' | 'depth×sublayer';
  value: string;
  units: number;
  medianRLinFloat: number;
  medianRLinQ4: number;
  medianRelErr: number;
  medianCorrectability: number;
}

/** Depth (early/mid/late) and sub-layer (attn/ffn) profiles over every unit of every setting. */
export function profiles(results: SettingResult[]): ProfileRow[] {
  const all = results.flatMap((r) => r.q1);
  const row = (group: ProfileRow['group'], value: string, ms: Q1UnitMetrics[]): ProfileRow => ({
    group,
    value,
    units: ms.length,
    medianRLinFloat: median(ms.map((m) => m.rLinFloat)),
    medianRLinQ4: median(ms.map((m) => m.rLinQ4)),
    medianRelErr: median(ms.map((m) => m.relErr)),
    medianCorrectability: median(ms.map((m) => m.correctability)),
  });
  const out: ProfileRow[] = [];
  for (const t of ['early', 'mid', 'late'] as const)
    out.push(
      row(
        'depth',
        t,
        all.filter((m) => m.third === t),
      ),
    );
  for (const k of ['attn', 'ffn'] as const)
    out.push(
      row(
        'sublayer',
        k,
        all.filter((m) => m.kind === k),
      ),
    );
  for (const t of ['early', 'mid', 'late'] as const) {
    for (const k of ['attn', 'ffn'] as const)
      out.push(
        row(
          'depth×sublayer',
          `${t} ${k}`,
          all.filter((m) => m.third === t && m.kind === k),
        ),
      );
  }
  return out.filter((r) => r.units > 0);
}

const f3 = (v: number) => (Number.isNaN(v) ? 'nan' : v.toFixed(3));
const f4 = (v: number) => (Number.isNaN(v) ? 'nan' : v.toFixed(4));

/** The markdown section written into the README between the study markers. */
export function readmeSection(results: SettingResult[], meta: { command: string; sizes: string }): string {
  const lines: string[] = [];
  lines.push(`Produced by \`${meta.command}\` (${meta.sizes}). Raw numbers: \`results/\`.`, '');
  lines.push('### Verdicts per setting', '');
  lines.push(
    '| model | d | L | seed | med rel err | med R_lin_float | med R_lin_q4 | med R_q4 (map) | ρ(aniso, R_q4) | Q1 | MSE emb | MSE feat | MSE both | MSE oracle | loss fp | loss q | gain emb | gain feat | gain both | gain Q1-q4 | Q2 |',
  );
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const { summary: s } of results) {
    lines.push(
      `| ${s.model} | ${s.dModel} | ${s.nLayers} | ${s.seed} | ${f3(s.medianRelErr)} | ${f3(s.medianRLinFloat)} | ${f3(s.medianRLinQ4)} | ${f3(s.medianRLinQ4Map)} | ${f3(s.spearmanAnisotropy)} | **${s.verdictQ1}** | ${f3(s.mseEmbedding)} | ${f3(s.mseFeatures)} | ${f3(s.mseBoth)} | ${f3(s.mseOracle)} | ${f4(s.lossFp)} | ${f4(s.lossQ)} | ${f4(s.gainEmbedding)} | ${f4(s.gainFeatures)} | ${f4(s.gainBoth)} | ${f4(s.gainQ1Q4)} | **${s.verdictQ2}** |`,
    );
  }
  const count = (k: 'verdictQ1' | 'verdictQ2', v: string) => results.filter((r) => r.summary[k] === v).length;
  lines.push('');
  lines.push(
    `Q1: ${count('verdictQ1', 'supported')} supported, ${count('verdictQ1', 'refuted')} refuted, ${count('verdictQ1', 'unclear')} unclear of ${results.length}. ` +
      `Q2: ${count('verdictQ2', 'supported')} supported, ${count('verdictQ2', 'refuted')} refuted, ${count('verdictQ2', 'unclear')} unclear.`,
  );
  const all = results.flatMap((r) => r.q1);
  const rq4 = all.map((m) => m.rLinQ4);
  lines.push('', '### Spearman correlations with R_lin_q4, pooled over every sub-layer of every setting', '');
  lines.push('| sub-layers | ρ(anisotropy) | ρ(rel err) | ρ(cos(E, Y_q)) | ρ(depth) |');
  lines.push('|---|---|---|---|---|');
  lines.push(
    `| ${all.length} | ${f3(
      spearman(
        all.map((m) => m.anisotropy),
        rq4,
      ),
    )} | ${f3(
      spearman(
        all.map((m) => m.relErr),
        rq4,
      ),
    )} | ${f3(
      spearman(
        all.map((m) => m.cosErrOut),
        rq4,
      ),
    )} | ${f3(
      spearman(
        all.map((m) => m.depthFrac),
        rq4,
      ),
    )} |`,
  );
  lines.push('', '### Depth and sub-layer profiles (all settings pooled, medians over sub-layers)', '');
  lines.push('| group | value | sub-layers | R_lin_float | R_lin_q4 | rel err | correctability |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const p of profiles(results)) {
    lines.push(
      `| ${p.group} | ${p.value} | ${p.units} | ${f3(p.medianRLinFloat)} | ${f3(p.medianRLinQ4)} | ${f3(p.medianRelErr)} | ${f4(p.medianCorrectability)} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export const README_BEGIN = '<!-- study:begin -->';
export const README_END = '<!-- study:end -->';

/** Replaces the text between the markers (kept) with `section`; appends markers if absent. */
export function spliceReadme(readme: string, section: string): string {
  const i = readme.indexOf(README_BEGIN);
  const j = readme.indexOf(README_END);
  if (i < 0 || j < i) return `${readme.trimEnd()}\n\n${README_BEGIN}\n${section}${README_END}\n`;
  return `${readme.slice(0, i + README_BEGIN.length)}\n${section}${readme.slice(j)}`;
}
