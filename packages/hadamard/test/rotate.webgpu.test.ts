import { checkConformance, NqInputError, type Tolerance } from '@nq/core';
import {
  destroyGpuMatrix,
  downloadMatrix,
  emptyGpuMatrix,
  getWebGPUDevice,
  uploadMatrix,
} from '@nq/core/webgpu';
import { describe, expect, it } from 'vitest';
import {
  blockHadamard,
  cascade,
  identity,
  type RotationSpec,
  randomBlockOrthogonal,
  randomHadamard,
  rotate,
} from '../src/index.js';
import { prepareRotationWebGPU, rotateGpu, rotateWebGPU } from '../src/webgpu/index.js';
import { gaussian } from './helpers.js';

// Runs on this machine's adapter: in CI and on developer machines Mesa's llvmpipe CPU adapter
// (compatibility mode, no subgroups), so inputs stay small (< 1 MB each). Reference: the cpu backend.
const TOL: Tolerance = { abs: 2e-5, rel: 1e-5 };

const cases: [string, RotationSpec, number][] = [
  ['randomHadamard 128 (16 chunks per workgroup)', randomHadamard(128, 1), 24],
  ['randomHadamard 1024', randomHadamard(1024, 2), 6],
  ['randomHadamard 4096 (16 per thread, 3 rounds)', randomHadamard(4096, 3), 3],
  ['randomHadamard 16384 (chunk pass + high-bits pass)', randomHadamard(16384, 4), 2],
  ['blockHadamard 256 / 32 seeded', blockHadamard(256, 32, 5), 5],
  ['blockHadamard 8 / 2 (p < 4 path)', blockHadamard(8, 2, 6), 3],
  ['randomHadamard 768 = 12·64 (mix pass)', randomHadamard(768, 7), 4],
  ['randomHadamard 28·1024 (Kronecker benchmark size)', randomHadamard(28 * 1024, 8), 2],
  ['randomHadamard 172·4 (Williamson, m > tile)', randomHadamard(688, 9), 3],
  ['blockHadamard 48 / 12 (m·1)', blockHadamard(48, 12, 10), 3],
  ['identity 16', identity(16), 2],
  [
    'cascade orthogonal-16 · hadamard-64',
    cascade(randomBlockOrthogonal(64, 16, 11), randomHadamard(64, 12)),
    5,
  ],
];

describe('webgpu rotate matches cpu', () => {
  it('reports the adapter', async () => {
    const ctx = await getWebGPUDevice();
    console.log(`webgpu: ${ctx.adapterName} (${ctx.kind}); subgroups: ${ctx.features.has('subgroups')}`);
  });

  it.each(cases)('%s, forward and inverse', async (_name, spec, rows) => {
    const x = gaussian(rows, spec.dim, 100 + rows);
    for (const inverse of [false, true]) {
      await checkConformance(
        `${_name} inverse=${inverse}`,
        x,
        (v) => rotate(v, spec, { inverse }).data,
        async (v) => (await rotateWebGPU(v, spec, { inverse })).data,
        TOL,
      );
    }
  });

  it.each([
    [{ swizzle: true, elementsPerThread: 8 }],
    [{ elementsPerThread: 32, threadsPerWorkgroup: 128 }],
    [{ elementsPerThread: 4, threadsPerWorkgroup: 64 }],
  ])('other kernel shapes agree with cpu: %o', async (tuning) => {
    for (const spec of [randomHadamard(1024, 31), randomHadamard(4096, 32), blockHadamard(512, 128, 33)]) {
      const x = gaussian(3, spec.dim, 34);
      const rot = await prepareRotationWebGPU(spec, tuning);
      for (const inverse of [false, true]) {
        await checkConformance(
          `${JSON.stringify(tuning)} n=${spec.dim}`,
          x,
          (v) => rotate(v, spec, { inverse }).data,
          async (v) => (await rotateWebGPU(v, rot, { inverse })).data,
          TOL,
        );
      }
      rot.destroy();
    }
  });

  it('keeps data on the GPU: out of place, then chained inverse back to x', async () => {
    const { device } = await getWebGPUDevice();
    const spec = randomHadamard(1024, 21);
    const rot = await prepareRotationWebGPU(spec);
    const x = gaussian(5, 1024, 22);
    const gx = uploadMatrix(device, x);
    const gy = emptyGpuMatrix(device, 5, 1024);
    await rotateGpu(gx, rot, { out: gy });
    const gz = await rotateGpu(gy, rot, { inverse: true });
    const y = await downloadMatrix(device, gy);
    const z = await downloadMatrix(device, gz);
    const x2 = await downloadMatrix(device, gx);
    expect(Array.from(x2.data)).toEqual(Array.from(x.data)); // input untouched out of place
    const ref = rotate(x, spec).data;
    let dy = 0;
    let dz = 0;
    for (let i = 0; i < ref.length; i++) {
      dy = Math.max(dy, Math.abs(y.data[i]! - ref[i]!));
      dz = Math.max(dz, Math.abs(z.data[i]! - x.data[i]!));
    }
    expect(dy).toBeLessThan(2e-5);
    expect(dz).toBeLessThan(2e-5);
    for (const g of [gx, gy, gz]) destroyGpuMatrix(g);
    rot.destroy();
  });

  it('bad input → typed errors', async () => {
    const x = gaussian(2, 64, 1);
    x.data[3] = Number.NaN;
    await expect(rotateWebGPU(x, randomHadamard(64, 1))).rejects.toThrow(NqInputError);
    await expect(rotateWebGPU(gaussian(2, 32, 1), randomHadamard(64, 1))).rejects.toThrow(/32 columns/);
  });
});
