import { matrix, NqInputError, NqUnsupportedError, Rng, zeros } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { fwhtRows } from '../src/cpu/index.js';
import {
  blockHadamard,
  cascade,
  identity,
  parseRotationSpec,
  type RotationSpec,
  randomBlockOrthogonal,
  randomHadamard,
  randomOrthogonal,
  rotate,
  rotateInverse,
  rotateLeft,
  serializeRotationSpec,
  toDense,
} from '../src/index.js';
import { gaussian, matmul, maxAbsDiff, orthogonalityError } from './helpers.js';

/** A representative set of specs: every stage kind, Kronecker sizes, blocks and cascades. */
function specs(): [string, RotationSpec][] {
  return [
    ['identity 16', identity(16)],
    ['randomHadamard 64', randomHadamard(64, 1)],
    ['randomHadamard 128 (odd log2 count: 2^7)', randomHadamard(128, 2)],
    ['blockHadamard 256 / 32 seeded', blockHadamard(256, 32, 3)],
    ['blockHadamard 96 / 96 (12·8, no signs)', blockHadamard(96, 96)],
    ['randomHadamard 48 (12·4)', randomHadamard(48, 4)],
    ['randomHadamard 80 (20·4)', randomHadamard(80, 5)],
    ['blockHadamard 112 / 56 (28·2)', blockHadamard(112, 56, 6)],
    ['randomHadamard 172 (Williamson)', randomHadamard(172, 7)],
    ['randomHadamard 156 (Cooper–Wallis)', randomHadamard(156, 8)],
    ['randomOrthogonal 24', randomOrthogonal(24, 9)],
    ['randomBlockOrthogonal 64 / 16', randomBlockOrthogonal(64, 16, 10)],
    [
      'cascade: block-8 hadamard · block-16 orthogonal · full hadamard',
      cascade(blockHadamard(64, 8, 11), randomBlockOrthogonal(64, 16, 12), randomHadamard(64, 13)),
    ],
    ['randomHadamard 16', randomHadamard(16, 14)],
  ];
}

describe('every spec is orthogonal and the fast path equals the dense product', () => {
  it.each(specs())('%s', (_name, spec) => {
    const r = toDense(spec);
    expect(orthogonalityError(r)).toBeLessThan(1e-5);
    const x = gaussian(5, spec.dim, 100);
    const fast = rotate(x, spec);
    const dense = matmul(x, r);
    expect(maxAbsDiff(fast.data, dense)).toBeLessThan(2e-5 * Math.sqrt(spec.dim));
    // inverse: x·R·R⁻¹ = x, and x·Rᵀ matches the dense transpose product
    const back = rotateInverse(fast, spec);
    expect(maxAbsDiff(back.data, x.data)).toBeLessThan(1e-5 * Math.sqrt(spec.dim));
  });
});

describe('definitions', () => {
  it('H_4 rows: the unnormalized FWHT of unit vectors are the Sylvester rows', () => {
    const d = new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    fwhtRows(d, 4);
    expect(Array.from(d)).toEqual([1, 1, 1, 1, 1, -1, 1, -1, 1, 1, -1, -1, 1, -1, -1, 1]);
  });

  it('a plain Hadamard stage is x·H/√n: [1,1,1,1] ↦ [2,0,0,0]', () => {
    const y = rotate(matrix(1, 4, [1, 1, 1, 1]), blockHadamard(4, 4));
    expect(Array.from(y.data)).toEqual([2, 0, 0, 0]);
  });

  it('signs are applied before the transform: e_0 with sign −1 ↦ −(first row of H)/√n', () => {
    const spec: RotationSpec = {
      version: 1,
      dim: 4,
      stages: [{ kind: 'hadamard', block: 4, signs: [-1, 1, 1, 1] }],
    };
    const y = rotate(matrix(1, 4, [1, 0, 0, 0]), spec);
    expect(Array.from(y.data)).toEqual([-0.5, -0.5, -0.5, -0.5]);
  });

  it('(xR)(WR)ᵀ = xWᵀ for activations and weights (768 = 12·64, as in the 5M model MLP)', () => {
    const spec = randomHadamard(768, 21);
    const x = gaussian(4, 768, 22);
    const w = gaussian(6, 768, 23);
    const xr = rotate(x, spec);
    const wr = rotate(w, spec);
    const y0 = new Float64Array(24);
    const y1 = new Float64Array(24);
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 6; j++)
        for (let k = 0; k < 768; k++) {
          y0[i * 6 + j]! += x.data[i * 768 + k]! * w.data[j * 768 + k]!;
          y1[i * 6 + j]! += xr.data[i * 768 + k]! * wr.data[j * 768 + k]!;
        }
    expect(maxAbsDiff(y0, y1)).toBeLessThan(1e-3);
  });

  it('rotateLeft gives Rᵀ·W so the layer output comes out rotated: x·(RᵀW)ᵀ = (x·Wᵀ)·R', () => {
    const spec = randomHadamard(32, 31);
    const w = gaussian(32, 20, 32); // out = 32, in = 20
    const x = gaussian(3, 20, 33);
    const wl = rotateLeft(w, spec);
    // y = x·Wᵀ (3 × 32), then y·R; compare with x·(RᵀW)ᵀ
    const y = zeros(3, 32);
    const y2 = new Float64Array(3 * 32);
    for (let i = 0; i < 3; i++)
      for (let o = 0; o < 32; o++)
        for (let k = 0; k < 20; k++) {
          y.data[i * 32 + o]! += x.data[i * 20 + k]! * w.data[o * 20 + k]!;
          y2[i * 32 + o]! += x.data[i * 20 + k]! * wl.data[o * 20 + k]!;
        }
    expect(maxAbsDiff(rotate(y, spec).data, y2)).toBeLessThan(1e-4);
    expect(maxAbsDiff(rotateLeft(wl, spec, { inverse: true }).data, w.data)).toBeLessThan(1e-5);
  });

  it('large power-of-two and Kronecker sizes round-trip (cache-blocked path n > 4096, 28·1024)', () => {
    for (const spec of [
      randomHadamard(16384, 41),
      randomHadamard(28 * 1024, 42),
      blockHadamard(8192, 2048, 43),
    ]) {
      const x = gaussian(2, spec.dim, 44);
      const y = rotate(x, spec);
      // orthogonal: norms are preserved
      let n0 = 0;
      let n1 = 0;
      for (let i = 0; i < x.data.length; i++) {
        n0 += x.data[i]! ** 2;
        n1 += y.data[i]! ** 2;
      }
      expect(Math.abs(n1 / n0 - 1)).toBeLessThan(1e-5);
      expect(maxAbsDiff(rotateInverse(y, spec).data, x.data)).toBeLessThan(1e-4);
    }
  });

  it('large n: fast path equals an independent O(n²) sum for a few output columns', () => {
    const n = 16384;
    const spec = randomHadamard(n, 51);
    const x = gaussian(1, n, 52);
    const y = rotate(x, spec);
    const signs = spec.stages[0]!.kind === 'hadamard' ? spec.stages[0]!.signs! : [];
    for (const j of [0, 1, 777, 8191, 16383]) {
      let s = 0;
      for (let i = 0; i < n; i++) {
        let v = i & j;
        let parity = 0;
        while (v) {
          parity ^= v & 1;
          v >>>= 1;
        }
        s += x.data[i]! * signs[i]! * (parity ? -1 : 1);
      }
      expect(Math.abs(y.data[j]! - s / Math.sqrt(n))).toBeLessThan(1e-4);
    }
  });

  it('WebAssembly SIMD and plain TypeScript kernels agree with the dense product (both directions, in and out of place)', async () => {
    const { wasmFwht } = await import('../src/cpu/index.js');
    expect(wasmFwht()).not.toBeNull(); // Node ≥ 16 has WebAssembly SIMD: the fast path must really run here
    const cases = [16, 32, 256, 2048].map((n) => randomHadamard(n, n));
    cases.push(
      blockHadamard(256, 64, 5),
      blockHadamard(256, 32),
      randomHadamard(768, 6),
      blockHadamard(1536, 768),
      randomHadamard(172 * 8, 7),
      randomHadamard(28 * 16, 8),
    );
    for (const spec of cases) {
      const n = spec.dim;
      const x = gaussian(37, n, n + 1); // not a multiple of the batch: exercises the tail batch
      const dense = matmul(x, toDense(spec));
      for (const simd of [true, false]) {
        const y = rotate(x, spec, { simd });
        expect(maxAbsDiff(y.data, dense)).toBeLessThan(2e-5 * Math.sqrt(n));
        const back = rotate(y, spec, { simd, inverse: true });
        expect(maxAbsDiff(back.data, x.data)).toBeLessThan(1e-5 * Math.sqrt(n));
        const inPlace = { ...x, data: x.data.slice() };
        rotate(inPlace, spec, { simd, out: inPlace });
        expect(Array.from(inPlace.data)).toEqual(Array.from(y.data));
      }
    }
  });

  it('in place (out: x) equals out of place', () => {
    const spec = randomHadamard(256, 61);
    const x = gaussian(3, 256, 62);
    const y = rotate(x, spec);
    const x2 = { ...x, data: x.data.slice() };
    rotate(x2, spec, { out: x2 });
    expect(Array.from(x2.data)).toEqual(Array.from(y.data));
  });

  it('same seed → same signs; different seed → different', () => {
    expect(randomHadamard(64, 5)).toEqual(randomHadamard(64, 5));
    expect(randomHadamard(64, 5).stages[0]).not.toEqual(randomHadamard(64, 6).stages[0]);
    const expected = Array.from(new Rng(5).signs(64));
    expect((randomHadamard(64, 5).stages[0] as { signs: number[] }).signs).toEqual(expected);
  });

  it('serialize / parse round-trips (typed arrays become arrays) and gives the same rotation', () => {
    const spec = cascade(randomBlockOrthogonal(32, 8, 1), randomHadamard(32, 2));
    const json = serializeRotationSpec(spec);
    const back = parseRotationSpec(json);
    expect(Array.isArray((back.stages[0] as { matrices: unknown }).matrices)).toBe(true);
    const x = gaussian(2, 32, 3);
    expect(Array.from(rotate(x, back).data)).toEqual(Array.from(rotate(x, spec).data));
  });
});

describe('bad input → typed errors', () => {
  it('NaN / Inf in x (in and out of place)', () => {
    const spec = randomHadamard(16, 1);
    const x = gaussian(2, 16, 2);
    x.data[20] = Number.NaN;
    expect(() => rotate(x, spec)).toThrow(NqInputError);
    expect(() => rotate(x, spec)).toThrow(/row 1, col 4/);
    x.data[20] = Number.POSITIVE_INFINITY;
    const before = x.data.slice();
    expect(() => rotate(x, spec, { out: x })).toThrow(NqInputError);
    expect(Array.from(x.data)).toEqual(Array.from(before)); // untouched
  });

  it('a single NaN/Inf anywhere is found, for every stage kind and direction', () => {
    const cases: RotationSpec[] = [
      blockHadamard(48, 12, 1),
      randomHadamard(64, 2),
      randomHadamard(96, 9),
      blockHadamard(128, 32, 10),
      randomBlockOrthogonal(16, 4, 3),
      cascade(identity(32), randomHadamard(32, 4)),
      blockHadamard(56, 28),
    ];
    for (const spec of cases)
      for (const inverse of [false, true])
        for (let pos = 0; pos < spec.dim; pos += 5) {
          const x = gaussian(2, spec.dim, pos);
          x.data[spec.dim + pos] = pos % 2 ? Number.NEGATIVE_INFINITY : Number.NaN;
          expect(() => rotate(x, spec, { inverse })).toThrow(new RegExp(`row 1, col ${pos}\\b`));
        }
  });

  it('wrong row length / wrong out shape', () => {
    expect(() => rotate(gaussian(2, 8, 1), randomHadamard(16, 1))).toThrow(
      /x: has 8 columns but the rotation has dim 16/,
    );
    expect(() => rotate(gaussian(2, 16, 1), randomHadamard(16, 1), { out: zeros(3, 16) })).toThrow(
      NqInputError,
    );
    expect(() => rotateLeft(gaussian(8, 4, 1), randomHadamard(16, 1))).toThrow(NqInputError);
  });

  it('unsupported sizes name the nearest supported ones', () => {
    expect(() => randomHadamard(92, 1)).toThrow(NqUnsupportedError);
    expect(() => randomHadamard(92, 1)).toThrow(/84, 88, 96, 100/);
    expect(() => blockHadamard(200, 50, 1)).toThrow(NqUnsupportedError);
    expect(() =>
      rotate(gaussian(1, 92, 1), { version: 1, dim: 92, stages: [{ kind: 'hadamard', block: 92 }] }),
    ).toThrow(NqUnsupportedError);
  });

  it('signs of the wrong length or values, bad blocks, bad versions, non-orthogonal blocks', () => {
    const bad = (s: unknown) => () => rotate(gaussian(1, 16, 1), s as RotationSpec);
    expect(bad({ version: 1, dim: 16, stages: [{ kind: 'hadamard', block: 16, signs: [1, -1] }] })).toThrow(
      /signs: has length 2 but dim is 16/,
    );
    expect(
      bad({ version: 1, dim: 16, stages: [{ kind: 'hadamard', block: 16, signs: new Array(16).fill(0.5) }] }),
    ).toThrow(NqInputError);
    expect(bad({ version: 1, dim: 16, stages: [{ kind: 'hadamard', block: 5 }] })).toThrow(
      /block: must be a positive integer dividing dim/,
    );
    expect(bad({ version: 2, dim: 16, stages: [{ kind: 'hadamard', block: 16 }] })).toThrow(
      NqUnsupportedError,
    );
    expect(bad({ version: 1, dim: 16, stages: [] })).toThrow(NqInputError);
    expect(bad({ version: 1, dim: 16, stages: [{ kind: 'rotate', block: 16 }] })).toThrow(/kind/);
    expect(
      bad({
        version: 1,
        dim: 16,
        stages: [{ kind: 'orthogonal', block: 4, matrices: new Array(64).fill(0.5) }],
      }),
    ).toThrow(/not orthogonal/);
    expect(
      bad({
        version: 1,
        dim: 16,
        stages: [{ kind: 'orthogonal', block: 4, matrices: new Array(63).fill(0) }],
      }),
    ).toThrow(/has 63 numbers/);
    expect(() => parseRotationSpec('{not json')).toThrow(NqInputError);
    expect(() => cascade(randomHadamard(16, 1), randomHadamard(32, 1))).toThrow(NqInputError);
  });
});
