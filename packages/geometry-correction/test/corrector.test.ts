import { NqInputError, Rng } from '@nq/core';
import { describe, expect, it } from 'vitest';
import {
  affineSse,
  type CorrectorUnit,
  channelStats,
  oracleAffine,
  totalSse,
  trainCorrector,
} from '../src/cpu/index.js';

/**
 * Synthetic units where the true per-channel correction is a known function of one feature:
 * y_fp = (1 + a_j)·y_q + noise with a_j = 0.3·f_j (f_j varies within a unit). A unit embedding can
 * only learn one a per unit; the feature can learn all of them.
 */
function makeUnits(seed: number, U: number, d: number, n: number) {
  const rng = new Rng(seed);
  const units: { yFp: Float32Array; yQ: Float32Array; f: Float64Array }[] = [];
  for (let u = 0; u < U; u++) {
    const f = Float64Array.from({ length: d }, () => rng.normal());
    const yQ = new Float32Array(n * d);
    const yFp = new Float32Array(n * d);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < d; j++) {
        const q = rng.normal();
        yQ[r * d + j] = q;
        yFp[r * d + j] = q * (1 + 0.3 * f[j]!) + 0.05 * rng.normal();
      }
    }
    units.push({ yFp, yQ, f });
  }
  return units;
}

function toCorrectorUnits(
  raw: ReturnType<typeof makeUnits>,
  d: number,
  rows: [number, number][],
): CorrectorUnit[] {
  return raw.map((u) => {
    const st = channelStats(u.yFp, u.yQ, d, rows);
    const sigma = Math.sqrt(totalSse(st) / (st.n * d));
    let qq = 0;
    for (let j = 0; j < d; j++) qq += st.sqq[j]!;
    return { train: st, features: u.f, rho: sigma / Math.sqrt(qq / (st.n * d)), sigma };
  });
}

describe('per-channel statistics and the oracle', () => {
  it('affineSse from sums equals the direct residual sum; oracle matches a direct 2-parameter regression', () => {
    const rng = new Rng(7);
    const n = 50;
    const yQ = Float32Array.from({ length: n }, () => rng.normal() + 0.5);
    const yFp = Float32Array.from(yQ, (q) => q * 1.2 - 0.3 + 0.1 * rng.normal());
    const st = channelStats(yFp, yQ, 1, [[0, n]]);
    let direct = 0;
    for (let r = 0; r < n; r++) direct += (yFp[r]! - yQ[r]! - (0.1 * yQ[r]! + 0.2)) ** 2;
    expect(affineSse(st, 0, 0.1, 0.2)).toBeCloseTo(direct, 8);
    // Direct: slope = cov(q, e)/var(q), intercept = ē − slope·q̄.
    let mq = 0;
    let me = 0;
    for (let r = 0; r < n; r++) {
      mq += yQ[r]! / n;
      me += (yFp[r]! - yQ[r]!) / n;
    }
    let cov = 0;
    let vq = 0;
    for (let r = 0; r < n; r++) {
      cov += (yQ[r]! - mq) * (yFp[r]! - yQ[r]! - me);
      vq += (yQ[r]! - mq) ** 2;
    }
    const o = oracleAffine(st);
    expect(o.a[0]).toBeCloseTo(cov / vq, 8);
    expect(o.b[0]).toBeCloseTo(me - (cov / vq) * mq, 8);
  });
});

describe('learned correction predictors', () => {
  const d = 24;
  const raw = makeUnits(11, 4, d, 300);
  const train = toCorrectorUnits(raw, d, [[0, 200]]);
  const heldOut = toCorrectorUnits(raw, d, [[200, 300]]);
  const heldRel = (t: { a: Float64Array[]; b: Float64Array[] }) =>
    heldOut.reduce((s, u, i) => {
      let e = 0;
      for (let j = 0; j < d; j++) e += affineSse(u.train, j, t.a[i]![j]!, t.b[i]![j]!);
      return s + e / totalSse(u.train) / heldOut.length;
    }, 0);

  it('features that determine the correction beat a unit embedding on held-out rows', () => {
    const common = { featureCount: 1, seed: 5, iterations: 400 };
    const emb = trainCorrector(train, { ...common, useEmbedding: true, useFeatures: false });
    const feat = trainCorrector(train, { ...common, useEmbedding: false, useFeatures: true });
    // Noise floor: 0.05² against an error of variance 0.09·E[f²] ≈ 0.09 → rel ≈ 0.03.
    expect(heldRel(feat)).toBeLessThan(0.1);
    // The embedding can only fit the unit-average slope: most of the error remains.
    expect(heldRel(emb)).toBeGreaterThan(0.6);
    expect(feat.trainLoss).toBeLessThan(emb.trainLoss);
  });

  it('is deterministic for a seed and starts from "no correction" (loss ≤ 1)', () => {
    const o = { featureCount: 1, seed: 9, iterations: 50, useEmbedding: true, useFeatures: true };
    const a = trainCorrector(train, o);
    const b = trainCorrector(train, o);
    expect(Array.from(a.a[2]!)).toEqual(Array.from(b.a[2]!));
    expect(a.trainLoss).toBeLessThan(1);
  });

  it('needs at least one input', () => {
    expect(() =>
      trainCorrector(train, { featureCount: 1, seed: 1, useEmbedding: false, useFeatures: false }),
    ).toThrow(NqInputError);
  });
});
