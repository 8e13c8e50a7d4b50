import { NqInputError, Rng } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { formatLlamaCppReport } from '../src/stats/format.js';
import { logSoftmaxRow } from '../src/stats/log-softmax.js';
import { RefBuilder, selectTopK } from '../src/stats/reference.js';
import { meanAndSE, percentileSorted, summarize } from '../src/stats/summary.js';
import { newTokenScores, PositionScorer } from '../src/stats/token-scores.js';

// Independent float64 softmax written the textbook way (no max shift, small logits only).
function probs(row: Float32Array): number[] {
  const e = Array.from(row, (v) => Math.exp(v));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

function synthetic(seed: number, rows: number, vocab: number, scale = 2): Float32Array {
  return new Rng(seed).normals(rows * vocab, 0, scale);
}

describe('log-softmax and KL per position', () => {
  it('log-softmax matches log of the textbook softmax', () => {
    const x = synthetic(1, 1, 50);
    const out = new Float64Array(50);
    const am = logSoftmaxRow(x, 0, 50, out);
    const p = probs(x);
    for (let i = 0; i < 50; i++) expect(out[i]).toBeCloseTo(Math.log(p[i]!), 12);
    expect(am).toBe(p.indexOf(Math.max(...p)));
  });

  it('full-vocabulary KLD, NLL, Δp and same-top equal their definitions', () => {
    const V = 64;
    const T = 20;
    const base = synthetic(2, T, V);
    const noise = synthetic(3, T, V, 0.3);
    const cand = base.map((v, i) => v + noise[i]!);
    const targets = Array.from({ length: T }, (_, i) => (i * 7) % V);
    const b = new RefBuilder(V, T, { kind: 'full' });
    for (let t = 0; t < T; t++) b.add(base, t * V, targets[t]!);
    const scorer = new PositionScorer(b.ref);
    const s = newTokenScores(T);
    for (let t = 0; t < T; t++) scorer.score(cand, t * V, targets[t]!, t, s);
    for (let t = 0; t < T; t++) {
      const p = probs(base.subarray(t * V, (t + 1) * V));
      const q = probs(cand.subarray(t * V, (t + 1) * V));
      let kl = 0;
      for (let i = 0; i < V; i++) kl += p[i]! * Math.log(p[i]! / q[i]!);
      // The reference log-probs are stored as float32: ~1e-7 relative.
      expect(s.kld[t]).toBeCloseTo(kl, 6);
      expect(s.nll[t]).toBeCloseTo(-Math.log(q[targets[t]!]!), 12);
      expect(s.nllBase[t]).toBeCloseTo(-Math.log(p[targets[t]!]!), 12);
      expect(s.pDiff[t]).toBeCloseTo(q[targets[t]!]! - p[targets[t]!]!, 12);
      expect(s.sameTop[t]).toBe(p.indexOf(Math.max(...p)) === q.indexOf(Math.max(...q)) ? 1 : 0);
    }
  });

  it('KLD of a distribution against itself is ~0', () => {
    const V = 100;
    const x = synthetic(4, 3, V);
    const b = new RefBuilder(V, 3, { kind: 'full' });
    for (let t = 0; t < 3; t++) b.add(x, t * V, 0);
    const s = newTokenScores(3);
    const sc = new PositionScorer(b.ref);
    for (let t = 0; t < 3; t++) sc.score(x, t * V, 0, t, s);
    for (let t = 0; t < 3; t++) expect(Math.abs(s.kld[t]!)).toBeLessThan(1e-6);
  });

  it('top-k KLD equals the (k+1)-bin KL and bounds the full KL from below', () => {
    const V = 200;
    const T = 10;
    const k = 8;
    const base = synthetic(5, T, V);
    const cand = base.map((v, i) => v + 0.5 * Math.sin(i));
    const full = new RefBuilder(V, T, { kind: 'full' });
    const top = new RefBuilder(V, T, { kind: 'topk', k });
    for (let t = 0; t < T; t++) {
      full.add(base, t * V, 3);
      top.add(base, t * V, 3);
    }
    const sf = newTokenScores(T);
    const st = newTokenScores(T);
    const a = new PositionScorer(full.ref);
    const c = new PositionScorer(top.ref);
    for (let t = 0; t < T; t++) {
      a.score(cand, t * V, 3, t, sf);
      c.score(cand, t * V, 3, t, st);
    }
    for (let t = 0; t < T; t++) {
      const p = probs(base.subarray(t * V, (t + 1) * V));
      const q = probs(cand.subarray(t * V, (t + 1) * V));
      const order = p.map((v, i) => [v, i] as const).sort((x, y) => y[0] - x[0] || x[1] - y[1]);
      const topIds = order.slice(0, k).map(([, i]) => i);
      expect(Array.from(top.ref.topIdx!.subarray(t * k, (t + 1) * k))).toEqual(topIds);
      let kl = 0;
      let pr = 1;
      let qr = 1;
      for (const i of topIds) {
        kl += p[i]! * Math.log(p[i]! / q[i]!);
        pr -= p[i]!;
        qr -= q[i]!;
      }
      kl += pr * Math.log(pr / qr);
      expect(st.kld[t]).toBeCloseTo(kl, 6);
      expect(st.kld[t]!).toBeLessThanOrEqual(sf.kld[t]! + 1e-7);
      // Exact quantities are identical in both storages.
      expect(st.nllBase[t]).toBe(sf.nllBase[t]);
      expect(st.sameTop[t]).toBe(sf.sameTop[t]);
    }
  });

  it('selectTopK returns the k largest, largest first, lower index first on ties', () => {
    const v = Float64Array.from([1, 5, 3, 5, 2, 9, 0]);
    const out = new Int32Array(3);
    expect(selectTopK(v, v.length, 3, out)).toBe(3);
    expect(Array.from(out)).toEqual([5, 1, 3]);
  });
});

describe('summary statistics (llama.cpp definitions)', () => {
  it('meanAndSE: SE = sqrt(population variance / (n − 1)); 0 for n ≤ 10', () => {
    const x = Array.from({ length: 101 }, (_, i) => i);
    const { value, se } = meanAndSE(x);
    expect(value).toBe(50);
    // population variance of 0..100 is (101² − 1)/12 = 850
    expect(se).toBeCloseTo(Math.sqrt(850 / 100), 12);
    expect(meanAndSE([1, 2, 3]).se).toBe(0);
  });

  it('percentiles interpolate linearly at fraction·(n−1)', () => {
    const x = Float64Array.from({ length: 101 }, (_, i) => i);
    expect(percentileSorted(x, 0.99)).toBeCloseTo(99, 12);
    expect(percentileSorted(x, 0.999)).toBeCloseTo(99.9, 12);
    expect(percentileSorted(x, 0.5)).toBe(50);
    expect(percentileSorted(Float64Array.from([1, 2, 3, 4]), 0.5)).toBe(2.5);
  });

  it("same-top SE reproduces llama.cpp's printed figure (Q4_K_M report: 94.910 ± 0.122 %, 256 chunks × 127)", () => {
    const n = 256 * 127;
    const s = newTokenScores(n);
    s.count = n;
    const same = Math.round(0.9491 * n);
    for (let i = 0; i < same; i++) s.sameTop[i] = 1;
    const r = summarize(s);
    expect((100 * r.sameTop.value).toFixed(3)).toBe('94.910');
    expect((100 * r.sameTop.se).toFixed(3)).toBe('0.122');
  });

  it('PPL, ratio, correlation and SEs follow from their definitions on synthetic NLLs', () => {
    const n = 5000;
    const rng = new Rng(9);
    const s = newTokenScores(n);
    s.count = n;
    for (let i = 0; i < n; i++) {
      const b = 3 + rng.normal();
      s.nllBase[i] = b;
      s.nll[i] = b + 0.1 + 0.2 * rng.normal();
      s.kld[i] = Math.abs(0.05 * rng.normal());
      s.pDiff[i] = 0.01 * rng.normal();
    }
    const r = summarize(s);
    const mean = (a: Float64Array) => a.reduce((x, y) => x + y, 0) / a.length;
    const ma = mean(s.nll);
    const mb = mean(s.nllBase);
    let va = 0;
    let vb = 0;
    let cab = 0;
    for (let i = 0; i < n; i++) {
      va += (s.nll[i]! - ma) ** 2;
      vb += (s.nllBase[i]! - mb) ** 2;
      cab += (s.nll[i]! - ma) * (s.nllBase[i]! - mb);
    }
    expect(r.pplQ.value).toBeCloseTo(Math.exp(ma), 10);
    expect(r.pplBase.value).toBeCloseTo(Math.exp(mb), 10);
    expect(r.pplQ.se).toBeCloseTo(Math.exp(ma) * Math.sqrt(va / n / (n - 1)), 10);
    expect(r.corLnPpl).toBeCloseTo(cab / Math.sqrt(va * vb), 10);
    // Variance of a difference of correlated means.
    const seRatio = Math.sqrt((va + vb - 2 * cab) / n / (n - 1));
    expect(r.lnPplRatio.value).toBeCloseTo(ma - mb, 12);
    expect(r.lnPplRatio.se).toBeCloseTo(seRatio, 10);
    expect(r.pplRatio.value).toBeCloseTo(Math.exp(ma - mb), 10);
    expect(r.kld.mean).toBeCloseTo(mean(s.kld), 12);
    const rms = Math.sqrt(s.pDiff.reduce((x, y) => x + y * y, 0) / n);
    expect(r.deltaP.rms).toBeCloseTo(rms, 12);
    const sorted = Float64Array.from(s.kld).sort();
    expect(r.kld.max).toBe(sorted[n - 1]);
    expect(r.kld.min).toBe(sorted[0]);
    expect(r.kld.median).toBe((sorted[n / 2 - 1]! + sorted[n / 2]!) / 2);
    const text = formatLlamaCppReport(r);
    expect(text).toContain('Mean    KLD:');
    expect(text).toContain('Same top p:');
  });

  it('an empty score set is a typed error', () => {
    expect(() => summarize(newTokenScores(0))).toThrow(NqInputError);
  });
});
