import { checkConformance, NqInputError, type Tolerance } from '@nq/core';
import { type GpuJsMode, hasGpuJs } from '@nq/core/gpujs';
import { afterAll, describe, expect, it } from 'vitest';
import { gpuJsKernelBackends, releaseGpuJsKernels, rotateGpuJs } from '../src/gpujs/index.js';
import {
  blockHadamard,
  cascade,
  type RotationSpec,
  randomBlockOrthogonal,
  randomHadamard,
  rotate,
} from '../src/index.js';
import { gaussian } from './helpers.js';

// gpu.js computes in float32 throughout (the cpu reference rounds to float32 once per 2–3 stages),
// so allow a few ulps per stage on values of order 1.
const TOL: Tolerance = { abs: 5e-5, rel: 2e-5 };

const cases: [string, RotationSpec, number][] = [
  ['randomHadamard 64', randomHadamard(64, 1), 4],
  ['randomHadamard 1024', randomHadamard(1024, 2), 2],
  ['blockHadamard 128 / 16', blockHadamard(128, 16, 3), 3],
  ['randomHadamard 768 = 12·64', randomHadamard(768, 4), 2],
  ['randomHadamard 172·2 (Williamson)', randomHadamard(344, 5), 2],
  ['cascade orthogonal-8 · hadamard-32', cascade(randomBlockOrthogonal(32, 8, 6), randomHadamard(32, 7)), 3],
];

const modes: { mode: GpuJsMode; skip: string | false }[] = [
  { mode: 'webgpu', skip: (await hasGpuJs('webgpu')) ? false : 'gpu.js webgpu mode unavailable here' },
  { mode: 'webasm', skip: false },
];

afterAll(() => releaseGpuJsKernels());

describe.each(modes)('gpu.js $mode rotate matches cpu', ({ mode, skip }) => {
  it.skipIf(skip).each(cases)('%s, forward and inverse', async (name, spec, rows) => {
    const x = gaussian(rows, spec.dim, 200 + rows);
    for (const inverse of [false, true]) {
      await checkConformance(
        `${mode} ${name} inverse=${inverse}`,
        x,
        (v) => rotate(v, spec, { inverse }).data,
        async (v) => (await rotateGpuJs(v, spec, { inverse, mode })).data,
        TOL,
      );
    }
    // No silent fallback: every kernel used so far really ran in this mode.
    const where = gpuJsKernelBackends(mode);
    expect(where.length).toBeGreaterThan(0);
    expect(new Set(where)).toEqual(new Set([mode]));
  });

  it.skipIf(skip)('bad input → typed errors', async () => {
    const x = gaussian(1, 16, 1);
    x.data[0] = Number.POSITIVE_INFINITY;
    await expect(rotateGpuJs(x, randomHadamard(16, 1), { mode })).rejects.toThrow(NqInputError);
    await expect(rotateGpuJs(gaussian(1, 8, 1), randomHadamard(16, 1), { mode })).rejects.toThrow(
      /8 columns/,
    );
  });
});
