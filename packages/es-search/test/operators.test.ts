import { Rng } from '@nq/core';
import { blockHadamard, cascade, validateRotationSpec } from '@nq/hadamard';
import { describe, expect, it } from 'vitest';
import {
  allowedBlocks,
  blockNeighbours,
  crossover,
  defaultOperatorOptions,
  flipSigns,
  fromRotationSpec,
  genomeDistance,
  genomeKey,
  mutate,
  randomGenome,
  structureKey,
  toRotationSpec,
  tournament,
} from '../src/index.js';

describe('genome', () => {
  it('allowed blocks are the supported Hadamard sizes dividing dim', () => {
    expect(allowedBlocks(64)).toEqual([1, 2, 4, 8, 16, 32, 64]);
    // 768 = 3·256: powers of two up to 256 and 12·2^k up to 768 (3 and 6 are no Hadamard orders).
    expect(allowedBlocks(768)).toEqual([1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 768]);
    expect(allowedBlocks(768, 16, 128)).toEqual([16, 24, 32, 48, 64, 96, 128]);
  });

  it('round-trips through RotationSpec and JSON', () => {
    const spec = cascade(blockHadamard(48, 12, 1), blockHadamard(48, 16, 2));
    const g = fromRotationSpec(spec);
    expect(structureKey(g)).toBe('12x16');
    const back = toRotationSpec(g);
    expect(JSON.parse(JSON.stringify(back)).stages).toEqual(JSON.parse(JSON.stringify(spec.stages)));
    expect(genomeKey(fromRotationSpec(JSON.parse(JSON.stringify(back))))).toBe(genomeKey(g));
    expect(() =>
      fromRotationSpec({
        version: 1,
        dim: 4,
        stages: [{ kind: 'orthogonal', block: 1, matrices: [1, 1, 1, 1] }],
      }),
    ).toThrow(/hadamard/);
    expect(() => fromRotationSpec(cascade(...[1, 2, 3, 4].map((s) => blockHadamard(8, 2, s))))).toThrow(
      /stages/,
    );
  });

  it('distance: 1 for different structures, else the fraction of differing signs', () => {
    const a = fromRotationSpec(blockHadamard(8, 4, 1));
    const b = fromRotationSpec(blockHadamard(8, 4, 1));
    expect(genomeDistance(a, b)).toBe(0);
    b.stages[0]!.signs[3] = -b.stages[0]!.signs[3]! as 1 | -1;
    b.stages[0]!.signs[5] = -b.stages[0]!.signs[5]! as 1 | -1;
    expect(genomeDistance(a, b)).toBe(2 / 8);
    expect(genomeKey(a)).not.toBe(genomeKey(b));
    expect(genomeDistance(a, fromRotationSpec(blockHadamard(8, 2, 1)))).toBe(1);
  });
});

describe('operators', () => {
  const dim = 96;
  const ops = defaultOperatorOptions(dim);

  it('mutations always give valid specs with allowed blocks and 1..3 stages; block moves are ×2/÷2', () => {
    const rng = new Rng(7);
    let g = randomGenome(dim, rng, ops);
    const seen = new Set<number>();
    for (let i = 0; i < 300; i++) {
      const m = mutate(g, rng, { ...ops, blockMutationRate: 1, stageAddRate: 0, stageRemoveRate: 0 });
      validateRotationSpec(toRotationSpec(m));
      expect(m.stages.length).toBe(g.stages.length);
      for (let s = 0; s < m.stages.length; s++) {
        const [a, b] = [g.stages[s]!.block, m.stages[s]!.block];
        expect([a, a * 2, a / 2]).toContain(b);
        expect(ops.blocks).toContain(b);
        seen.add(b);
      }
      g = mutate(m, rng, ops);
      validateRotationSpec(toRotationSpec(g));
      expect(g.stages.length).toBeGreaterThanOrEqual(1);
      expect(g.stages.length).toBeLessThanOrEqual(3);
    }
    expect(seen.size).toBeGreaterThan(4);
    expect(blockNeighbours(12, allowedBlocks(96))).toEqual([24]); // 6 is no Hadamard order
    expect(blockNeighbours(96, allowedBlocks(96))).toEqual([48]);
  });

  it('frozen structure: only signs change', () => {
    const rng = new Rng(3);
    const g = randomGenome(dim, rng, ops);
    for (let i = 0; i < 50; i++) {
      const m = mutate(g, rng, {
        ...ops,
        freezeStructure: true,
        blockMutationRate: 1,
        stageAddRate: 1,
        stageRemoveRate: 1,
        signFlipRate: 0.1,
      });
      expect(structureKey(m)).toBe(structureKey(g));
    }
  });

  it('sign flips happen at the given rate (binomial, 6 sigma)', () => {
    const n = 200_000;
    const rate = 0.1;
    const signs = new Int8Array(n).fill(1);
    const flipped = flipSigns(signs, rate, new Rng(11));
    expect(Math.abs(flipped - n * rate)).toBeLessThan(6 * Math.sqrt(n * rate * (1 - rate)));
    expect(signs.filter((s) => s === -1).length).toBe(flipped);
  });

  it('uniform crossover: every sign from one parent, about half from each', () => {
    const rng = new Rng(5);
    const a = fromRotationSpec(blockHadamard(4096, 64, 1));
    const b = fromRotationSpec(blockHadamard(4096, 64, 2));
    const c = crossover(a, b, rng);
    let fromA = 0;
    let differ = 0;
    for (let i = 0; i < 4096; i++) {
      const [x, y, z] = [a.stages[0]!.signs[i], b.stages[0]!.signs[i], c.stages[0]!.signs[i]];
      expect(z === x || z === y).toBe(true);
      if (x !== y) {
        differ++;
        if (z === x) fromA++;
      }
    }
    expect(Math.abs(fromA - differ / 2)).toBeLessThan(6 * Math.sqrt(differ / 4));
    // Different block at a stage: that stage is a's.
    const d = crossover(a, fromRotationSpec(blockHadamard(4096, 32, 2)), rng);
    expect(genomeDistance(d, a)).toBe(0);
  });

  it('tournament returns the best of k draws', () => {
    const costs = [5, 3, 9, 1, 7];
    expect(tournament(costs, 200, new Rng(1))).toBe(3);
    const counts = new Array(5).fill(0);
    const rng = new Rng(2);
    for (let i = 0; i < 5000; i++) counts[tournament(costs, 1, rng)]++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });
});
