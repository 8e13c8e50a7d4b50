import { matrix } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { fakeQuantGpuJs } from '../src/gpujs/index.js';
import { fakeQuant } from '../src/index.js';
import { conform, llmLike } from './conformance.js';

for (const mode of ['webasm', 'webgpu'] as const) {
  describe(`gpu.js (${mode}) FP fake-quant conforms to the CPU reference`, () => {
    const x = llmLike(8, 128, 4);
    const specs = [
      { format: 'fp8_e4m3', granularity: 'tensor' },
      { format: 'fp8_e5m2', granularity: 'token' },
      { format: 'fp8_e4m3', granularity: 'channel' },
      { format: 'nvfp4' },
      { format: 'mxfp4' },
      { format: 'int', bits: 4, granularity: 'group', groupSize: 32 },
    ] as const;
    for (const spec of specs) {
      it(JSON.stringify(spec), async () => {
        conform((await fakeQuantGpuJs(x, spec, mode)).data, fakeQuant(x, spec).data, x.data);
      });
    }
    it('E2M1 midpoints tie to even (MXFP4 block with scale 1)', async () => {
      const d = new Float32Array(32);
      d.set([6, 0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5, -5, -0.75]);
      const y = await fakeQuantGpuJs(matrix(1, 32, d), { format: 'mxfp4' }, mode);
      expect(Array.from(y.data.subarray(0, 10), (v) => v + 0)).toEqual([6, 0, 1, 1, 2, 2, 4, 4, -4, -1]);
    });
  });
}
