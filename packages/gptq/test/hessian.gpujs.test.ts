import { NqInputError } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { HessianAccumulatorGpuJs, hessianOfGpuJs } from '../src/gpujs/index.js';
import { hessianOf } from '../src/index.js';
import { correlatedInputs } from './helpers.js';

// gpu.js in its WebAssembly mode (runs everywhere) and its WebGPU mode (llvmpipe here). Small inputs.
for (const mode of ['webasm', 'webgpu'] as const) {
  describe(`gpu.js (${mode}) Hessian conforms to the float64 cpu reference`, () => {
    it('n = 40, 300 tokens in two adds: ≤ 1e-5 relative', async () => {
      const x = correlatedInputs(300, 40, 8);
      const cpu = hessianOf(x);
      const acc = await HessianAccumulatorGpuJs.create(40, mode);
      await acc.add({ rows: 120, cols: 40, data: x.data.subarray(0, 120 * 40) });
      await acc.add({ rows: 180, cols: 40, data: x.data.subarray(120 * 40) });
      const h = acc.finalize();
      let maxAbs = 0;
      let maxRef = 0;
      for (let i = 0; i < cpu.data.length; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(h.data[i]! - cpu.data[i]!));
        maxRef = Math.max(maxRef, Math.abs(cpu.data[i]!));
      }
      expect(maxAbs / maxRef).toBeLessThan(1e-5);
      expect(h.samples).toBe(300);
      const one = await hessianOfGpuJs(x, mode);
      expect(one.data[3 * 40 + 7]! / cpu.data[3 * 40 + 7]!).toBeCloseTo(1, 4);
    });
    it('rejects a wrong width with a typed error', async () => {
      const acc = await HessianAccumulatorGpuJs.create(8, mode);
      await expect(acc.add({ rows: 2, cols: 9, data: new Float32Array(18) })).rejects.toThrow(NqInputError);
    });
  });
}
