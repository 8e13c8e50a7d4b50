import { NqInputError, Rng } from '@nq/core';
import { blockHadamard, randomOrthogonal, toDense } from '@nq/hadamard';
import { describe, expect, it } from 'vitest';
import { blockApply, codecLoss, trainAdaCodec } from '../src/adacodec.js';
import {
  type BlockOrthogonal,
  blockOrthogonalityError,
  blockRandomHadamard,
  blockToDense,
  blockTranspose,
  cayleySkew,
  cayleyStepInPlace,
} from '../src/cayley.js';
import { activationSpec, rowQuantizer } from '../src/quantizers.js';

describe('Cayley updates on the orthogonal group', () => {
  it('stay orthogonal to 1e-5 over 3000 steps with random gradients and large steps', () => {
    const b = 16;
    const theta = blockRandomHadamard(b, b, 4).blocks;
    const rng = new Rng(8);
    for (let s = 0; s < 3000; s++) {
      const g = Float64Array.from({ length: b * b }, () => rng.normal());
      cayleyStepInPlace(theta, 0, cayleySkew(theta, 0, g, 0, b), b, 0.5 * rng.uniform());
    }
    const err = blockOrthogonalityError({ n: b, block: b, blocks: theta });
    expect(err).toBeLessThan(1e-5);
    expect(err).toBeLessThan(1e-11); // what float64 Cayley actually achieves
  });

  it('a small step decreases a smooth objective f(Θ) = ‖Θ − T‖²_F (descent direction)', () => {
    const b = 8;
    const theta = blockRandomHadamard(b, b, 1).blocks;
    const target = toDense(randomOrthogonal(b, 99)).data;
    const f = (t: Float64Array) => t.reduce((s, v, i) => s + (v - target[i]!) ** 2, 0);
    for (let s = 0; s < 50; s++) {
      const grad = theta.map((v, i) => 2 * (v - target[i]!));
      const before = f(theta);
      cayleyStepInPlace(theta, 0, cayleySkew(theta, 0, grad, 0, b), b, 0.01);
      expect(f(theta)).toBeLessThan(before);
    }
  });

  it('the block random Hadamard is the diagonal blocks of @nq/hadamard’s block Hadamard', () => {
    const bo = blockRandomHadamard(32, 8, 5);
    expect(blockOrthogonalityError(bo)).toBeLessThan(1e-12);
    const dense = toDense(blockHadamard(32, 8, 5)).data;
    const mine = blockToDense(bo);
    for (let i = 0; i < 32 * 32; i++) expect(mine[i]).toBeCloseTo(dense[i]!, 6);
    expect(() => blockRandomHadamard(30, 8, 1)).toThrow(/block/);
  });
});

describe('AdaCodec', () => {
  const rows = 256;
  const n = 32;
  const rng = new Rng(21);
  // Heavy-tailed channels (a few channels ×8) so rotations matter.
  const x = Float32Array.from({ length: rows * n }, (_, i) => rng.normal() * (i % n < 3 ? 8 : 1));

  for (const format of ['int4', 'nvfp4'] as const) {
    it(`${format}: lowers the reconstruction loss from its random-Hadamard init with the default training (surrogate encoder, Procrustes decoder), blocks stay orthogonal`, () => {
      const q = rowQuantizer(activationSpec(format));
      const r = trainAdaCodec(x, rows, n, q, { block: 16, seed: 3, iterations: 40, lr: 0.01 });
      expect(r.loss).toHaveLength(41);
      const L = r.loss[r.best]!;
      expect(L).toBe(Math.min(...r.loss));
      expect(L).toBeLessThan(r.loss[0]!);
      expect(blockOrthogonalityError(r.enc)).toBeLessThan(1e-10);
      expect(blockOrthogonalityError(r.dec)).toBeLessThan(1e-10);
      // The loss of the returned codec recomputed from the definition: ‖Q(XE)D − X‖²/‖X‖² with dense E, D.
      const e = blockToDense(r.enc);
      const d = blockToDense(r.dec);
      const z = new Float32Array(rows * n);
      for (let t = 0; t < rows; t++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let i = 0; i < n; i++) s += x[t * n + i]! * e[i * n + j]!;
          z[t * n + j] = s;
        }
      const zq = new Float32Array(z.length);
      q(z, rows, n, zq);
      let num = 0;
      let den = 0;
      for (let t = 0; t < rows; t++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let i = 0; i < n; i++) s += zq[t * n + i]! * d[i * n + j]!;
          num += (s - x[t * n + j]!) ** 2;
          den += x[t * n + j]! ** 2;
        }
      expect(num / den).toBeCloseTo(L, 5);
      expect(codecLoss(x, rows, r.enc, r.dec, q)).toBeCloseTo(L, 9);
    });
  }

  it('blockApply with transpose is the inverse of blockApply for an orthogonal codec', () => {
    const bo: BlockOrthogonal = blockRandomHadamard(n, 8, 2);
    const y = blockApply(x, rows, bo);
    const back = blockApply(y, rows, bo, undefined, true);
    for (let i = 0; i < x.length; i++) expect(back[i]).toBeCloseTo(x[i]!, 4);
    const back2 = blockApply(y, rows, blockTranspose(bo));
    for (let i = 0; i < x.length; i++) expect(back2[i]).toBeCloseTo(back[i]!, 6);
  });

  it('rejects bad input with typed errors', () => {
    const q = rowQuantizer(activationSpec('int4'));
    expect(() => trainAdaCodec(x, rows, n, q, { block: 5 })).toThrow(NqInputError);
    expect(() => trainAdaCodec(x, rows, n, q, { block: 8, lr: -1 })).toThrow(/lr/);
    expect(() => trainAdaCodec(x.subarray(1), rows, n, q, { block: 8 })).toThrow(/x/);
    expect(() => activationSpec('int3' as never)).toThrow(/format/);
  });
});
