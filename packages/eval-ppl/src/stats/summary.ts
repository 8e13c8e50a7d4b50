import { NqInputError } from '@nq/core';
import type { TokenScores } from './token-scores.js';

/** A value with its standard error. */
export interface ValueSE {
  value: number;
  se: number;
}

/** Percentiles reported by llama.cpp for KLD (keys are the percent levels). */
export interface KldStats {
  mean: number;
  se: number;
  max: number;
  p99_9: number;
  p99: number;
  p95: number;
  p90: number;
  median: number;
  p10: number;
  p5: number;
  p1: number;
  p0_1: number;
  min: number;
}

export interface DeltaPStats {
  /** Mean of q(target) − p(target) (a probability, not a percentage). */
  mean: number;
  se: number;
  max: number;
  p99_9: number;
  p99: number;
  p95: number;
  p90: number;
  p75: number;
  median: number;
  p25: number;
  p10: number;
  p5: number;
  p1: number;
  p0_1: number;
  min: number;
  rms: number;
  rms_se: number;
}

/** Everything llama.cpp's `perplexity --kl-divergence` prints, computed by its definitions. */
export interface KlReport {
  count: number;
  pplQ: ValueSE;
  pplBase: ValueSE;
  /** Correlation of the per-token ln-probabilities of candidate and base (−1..1). */
  corLnPpl: number;
  lnPplRatio: ValueSE;
  pplRatio: ValueSE;
  pplDiff: ValueSE;
  kld: KldStats;
  deltaP: DeltaPStats;
  /** Fraction of positions where the candidate's argmax equals the base's. */
  sameTop: ValueSE;
}

/**
 * llama.cpp's mean and uncertainty: mean f and sqrt(var/(n−1)) with var the population variance
 * (Σx²/n − f²), 0 when var ≤ 0 or n ≤ 10. The variance is computed in two passes (mathematically
 * the same as llama.cpp's running sums, without their cancellation).
 */
export function meanAndSE(x: ArrayLike<number>, n = x.length): ValueSE {
  if (n < 1) return { value: 0, se: 0 };
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i]!;
  const f = s / n;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i]! - f;
    v += d * d;
  }
  v /= n;
  return { value: f, se: v > 0 && n > 10 ? Math.sqrt(v / (n - 1)) : 0 };
}

/** llama.cpp's covariance of two means: (Σab/n − ā·b̄)/(n−1), 0 when n < 10. */
export function covarianceOfMeans(a: ArrayLike<number>, b: ArrayLike<number>, n: number): number {
  if (n < 10) return 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < n; i++) {
    sa += a[i]!;
    sb += b[i]!;
  }
  const ma = sa / n;
  const mb = sb / n;
  let c = 0;
  for (let i = 0; i < n; i++) c += (a[i]! - ma) * (b[i]! - mb);
  return c / n / (n - 1);
}

/** llama.cpp's percentile of sorted values: linear interpolation at fraction·(n−1). */
export function percentileSorted(sorted: ArrayLike<number>, fraction: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  if (fraction <= 0) return sorted[0]!;
  if (fraction >= 1) return sorted[n - 1]!;
  let p = fraction * (n - 1);
  const ip = Math.floor(p);
  p -= ip;
  return (1 - p) * sorted[ip]! + p * sorted[Math.min(ip + 1, n - 1)]!;
}

/** The llama.cpp-style report of candidate-vs-base token scores. */
export function summarize(scores: TokenScores): KlReport {
  const n = scores.count;
  if (n < 1) throw new NqInputError('scores', 'hold no scored position', 'Evaluate at least one window.');
  const nll = scores.nll.subarray(0, n);
  const nllBase = scores.nllBase.subarray(0, n);
  const logPpl = meanAndSE(nll);
  const logPplBase = meanAndSE(nllBase);
  const cov = covarianceOfMeans(nll, nllBase, n);
  const lnRatioMean = logPpl.value - logPplBase.value;
  const lnRatioSE = Math.sqrt(Math.max(0, logPpl.se ** 2 + logPplBase.se ** 2 - 2 * cov));
  const cor = logPpl.se > 0 && logPplBase.se > 0 ? cov / (logPpl.se * logPplBase.se) : Number.NaN;
  const ppl = Math.exp(logPpl.value);
  const pplUnc = ppl * logPpl.se;
  const pplBase = Math.exp(logPplBase.value);
  const pplBaseUnc = pplBase * logPplBase.se;
  const ratio = Math.exp(lnRatioMean);
  const pplCov = ppl * pplBase * cov;
  const diffSE = Math.sqrt(Math.max(0, pplUnc ** 2 + pplBaseUnc ** 2 - 2 * pplCov));

  const kld = scores.kld.subarray(0, n);
  const kldMean = meanAndSE(kld);
  const kSorted = Float64Array.from(kld).sort();
  const q = (f: number) => percentileSorted(kSorted, f);

  const pd = scores.pDiff.subarray(0, n);
  const pdMean = meanAndSE(pd);
  const pd2 = new Float64Array(n);
  for (let i = 0; i < n; i++) pd2[i] = pd[i]! * pd[i]!;
  const mse = meanAndSE(pd2);
  const rms = Math.sqrt(mse.value);
  const pSorted = Float64Array.from(pd).sort();
  const r = (f: number) => percentileSorted(pSorted, f);

  let same = 0;
  for (let i = 0; i < n; i++) same += scores.sameTop[i]!;
  const sameFrac = same / n;

  return {
    count: n,
    pplQ: { value: ppl, se: pplUnc },
    pplBase: { value: pplBase, se: pplBaseUnc },
    corLnPpl: cor,
    lnPplRatio: { value: lnRatioMean, se: lnRatioSE },
    pplRatio: { value: ratio, se: ratio * lnRatioSE },
    pplDiff: { value: ppl - pplBase, se: diffSE },
    kld: {
      mean: kldMean.value,
      se: kldMean.se,
      max: kSorted[n - 1]!,
      p99_9: q(0.999),
      p99: q(0.99),
      p95: q(0.95),
      p90: q(0.9),
      median: q(0.5),
      p10: q(0.1),
      p5: q(0.05),
      p1: q(0.01),
      p0_1: q(0.001),
      min: kSorted[0]!,
    },
    deltaP: {
      mean: pdMean.value,
      se: pdMean.se,
      max: pSorted[n - 1]!,
      p99_9: r(0.999),
      p99: r(0.99),
      p95: r(0.95),
      p90: r(0.9),
      p75: r(0.75),
      median: r(0.5),
      p25: r(0.25),
      p10: r(0.1),
      p5: r(0.05),
      p1: r(0.01),
      p0_1: r(0.001),
      min: pSorted[0]!,
      rms,
      rms_se: rms > 0 ? (0.5 / rms) * mse.se : 0,
    },
    sameTop: { value: sameFrac, se: n > 1 ? Math.sqrt((sameFrac * (1 - sameFrac)) / (n - 1)) : 0 },
  };
}
