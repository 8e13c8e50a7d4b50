import type { KlReport } from './summary.js';

const f = (v: number, w: number, d: number) => v.toFixed(d).padStart(w);

/** The report as llama.cpp's `llama-perplexity --kl-divergence` prints it (same lines, same widths). */
export function formatLlamaCppReport(r: KlReport): string {
  const L: string[] = [];
  L.push('====== Perplexity statistics ======');
  L.push(`Mean PPL(Q)                   : ${f(r.pplQ.value, 10, 6)} ± ${f(r.pplQ.se, 10, 6)}`);
  L.push(`Mean PPL(base)                : ${f(r.pplBase.value, 10, 6)} ± ${f(r.pplBase.se, 10, 6)}`);
  L.push(`Cor(ln(PPL(Q)), ln(PPL(base))): ${f(100 * r.corLnPpl, 6, 2)}%`);
  L.push(`Mean ln(PPL(Q)/PPL(base))     : ${f(r.lnPplRatio.value, 10, 6)} ± ${f(r.lnPplRatio.se, 10, 6)}`);
  L.push(`Mean PPL(Q)/PPL(base)         : ${f(r.pplRatio.value, 10, 6)} ± ${f(r.pplRatio.se, 10, 6)}`);
  L.push(`Mean PPL(Q)-PPL(base)         : ${f(r.pplDiff.value, 10, 6)} ± ${f(r.pplDiff.se, 10, 6)}`);
  L.push('====== KL divergence statistics ======');
  const k = r.kld;
  L.push(`Mean    KLD: ${f(k.mean, 10, 6)} ± ${f(k.se, 10, 6)}`);
  L.push(`Maximum KLD: ${f(k.max, 10, 6)}`);
  L.push(`99.9%   KLD: ${f(k.p99_9, 10, 6)}`);
  L.push(`99.0%   KLD: ${f(k.p99, 10, 6)}`);
  L.push(`95.0%   KLD: ${f(k.p95, 10, 6)}`);
  L.push(`90.0%   KLD: ${f(k.p90, 10, 6)}`);
  L.push(`Median  KLD: ${f(k.median, 10, 6)}`);
  L.push(`10.0%   KLD: ${f(k.p10, 10, 6)}`);
  L.push(` 5.0%   KLD: ${f(k.p5, 10, 6)}`);
  L.push(` 1.0%   KLD: ${f(k.p1, 10, 6)}`);
  L.push(` 0.1%   KLD: ${f(k.p0_1, 10, 6)}`);
  L.push(`Minimum KLD: ${f(k.min, 10, 6)}`);
  L.push('====== Token probability statistics ======');
  const p = r.deltaP;
  const pc = (v: number) => f(100 * v, 6, 3);
  L.push(`Mean    Δp: ${pc(p.mean)} ± ${f(100 * p.se, 5, 3)} %`);
  L.push(`Maximum Δp: ${pc(p.max)}%`);
  L.push(`99.9%   Δp: ${pc(p.p99_9)}%`);
  L.push(`99.0%   Δp: ${pc(p.p99)}%`);
  L.push(`95.0%   Δp: ${pc(p.p95)}%`);
  L.push(`90.0%   Δp: ${pc(p.p90)}%`);
  L.push(`75.0%   Δp: ${pc(p.p75)}%`);
  L.push(`Median  Δp: ${pc(p.median)}%`);
  L.push(`25.0%   Δp: ${pc(p.p25)}%`);
  L.push(`10.0%   Δp: ${pc(p.p10)}%`);
  L.push(` 5.0%   Δp: ${pc(p.p5)}%`);
  L.push(` 1.0%   Δp: ${pc(p.p1)}%`);
  L.push(` 0.1%   Δp: ${pc(p.p0_1)}%`);
  L.push(`Minimum Δp: ${pc(p.min)}%`);
  L.push(`RMS Δp    : ${pc(p.rms)} ± ${f(100 * p.rms_se, 5, 3)} %`);
  L.push(`Same top p: ${pc(r.sameTop.value)} ± ${f(100 * r.sameTop.se, 5, 3)} %`);
  return `${L.join('\n')}\n`;
}
