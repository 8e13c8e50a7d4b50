import { describe, expect, it } from 'vitest';
import { NqInputError, Rng } from '../src/index.js';

// An independent xoshiro128** + SplitMix32 written with BigInt and explicit masks, to check the
// Math.imul-based implementation against the published algorithm rather than against itself.
function referenceStream(seed: number, count: number): number[] {
  const M = 0xffffffffn;
  const mul = (a: bigint, b: bigint) => (a * b) & M;
  const rotl = (x: bigint, k: bigint) => ((x << k) | (x >> (32n - k))) & M;
  let sm = BigInt(seed >>> 0) ^ mul(BigInt(Math.floor(seed / 2 ** 32) >>> 0), 0x9e3779b9n);
  const splitmix = () => {
    sm = (sm + 0x9e3779b9n) & M;
    let z = sm;
    z = mul(z ^ (z >> 16n), 0x85ebca6bn);
    z = mul(z ^ (z >> 13n), 0xc2b2ae35n);
    return (z ^ (z >> 16n)) & M;
  };
  const s = [splitmix(), splitmix(), splitmix(), splitmix()];
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    out.push(Number(mul(rotl(mul(s[1]!, 5n), 7n), 9n)));
    const t = (s[1]! << 9n) & M;
    s[2]! ^= s[0];
    s[3]! ^= s[1];
    s[1]! ^= s[2];
    s[0]! ^= s[3];
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11n);
  }
  return out;
}

describe('Rng (xoshiro128** seeded by SplitMix32)', () => {
  it('matches an independent BigInt implementation of the algorithm', () => {
    for (const seed of [0, 1, 42, 123, 999, 2 ** 32 + 7, Number.MAX_SAFE_INTEGER]) {
      const r = new Rng(seed);
      const ours = Array.from({ length: 64 }, () => r.nextU32());
      expect(ours).toEqual(referenceStream(seed, 64));
    }
  });

  it('gives the documented first values for seed 42 (see packages/core/README.md)', () => {
    const r = new Rng(42);
    expect([r.nextU32(), r.nextU32(), r.nextU32(), r.nextU32()]).toEqual([
      2837322924, 544945897, 479756282, 3500138142,
    ]);
  });

  it('is reproducible and seed-sensitive', () => {
    const a = new Rng(7).normals(1000);
    const b = new Rng(7).normals(1000);
    const c = new Rng(8).normals(1000);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('uniform() lies in [0,1) with the right mean; normal() has mean 0 and variance 1', () => {
    const r = new Rng(3);
    const n = 200_000;
    let su = 0;
    let sn = 0;
    let sn2 = 0;
    for (let i = 0; i < n; i++) {
      const u = r.uniform();
      expect(u >= 0 && u < 1).toBe(true);
      su += u;
      const z = r.normal();
      sn += z;
      sn2 += z * z;
    }
    expect(Math.abs(su / n - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(sn / n)).toBeLessThan(0.01);
    expect(Math.abs(sn2 / n - 1)).toBeLessThan(0.02);
  });

  it('signs() are ±1, balanced, and come from the bits of the stream', () => {
    const s = new Rng(11).signs(100_000);
    let sum = 0;
    for (const v of s) {
      expect(v === 1 || v === -1).toBe(true);
      sum += v;
    }
    expect(Math.abs(sum)).toBeLessThan(1500);
    const word = new Rng(11).nextU32();
    const first = new Rng(11).signs(32);
    for (let i = 0; i < 32; i++) expect(first[i]).toBe((word >>> i) & 1 ? -1 : 1);
  });

  it('int(n) is unbiased over a small range', () => {
    const r = new Rng(5);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[r.int(6)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
  });

  it('fork(label) depends on seed and label, not on how much the parent drew', () => {
    const p1 = new Rng(9);
    const p2 = new Rng(9);
    p2.normals(17);
    expect(p1.fork('layer.3').nextU32()).toBe(p2.fork('layer.3').nextU32());
    expect(new Rng(9).fork('a').nextU32()).not.toBe(new Rng(9).fork('b').nextU32());
    expect(new Rng(9).fork('a').nextU32()).not.toBe(new Rng(10).fork('a').nextU32());
  });

  it('rejects bad seeds with a typed error naming the argument', () => {
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53]) {
      expect(() => new Rng(bad)).toThrow(NqInputError);
    }
    try {
      new Rng(-1);
    } catch (e) {
      expect((e as NqInputError).argument).toBe('seed');
    }
  });
});
