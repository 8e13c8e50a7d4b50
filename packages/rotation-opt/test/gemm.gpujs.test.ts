import { NqInputError, Rng } from '@nq/core';
import { randomOrthogonal, toDense } from '@nq/hadamard';
import { describe, expect, it } from 'vitest';
import { blockApply } from '../src/adacodec.js';
import { blockRandomHadamard } from '../src/cayley.js';
import { blockGemmGpuJs } from '../src/gpujs/index.js';

// gpu.js in its WebAssembly mode (runs everywhere) and its WebGPU mode (llvmpipe here). Small inputs.
const rows = 50;
const n = 48;
const rng = new Rng(12);
const x = Float32Array.from({ length: rows * n }, () => rng.normal());

for (const mode of ['webasm', 'webgpu'] as const) {
  describe(`gpu.js (${mode}) block GEMM conforms to the cpu blockApply`, () => {
    it('block-diagonal (b = 16) and dense (b = n) X·B: ≤ 1e-5 relative', async () => {
      const dense = { n, block: n, blocks: Float64Array.from(toDense(randomOrthogonal(n, 2)).data) };
      for (const b of [blockRandomHadamard(n, 16, 3), dense]) {
        const y = await blockGemmGpuJs(x, rows, n, b.blocks, b.block, mode);
        const ref = blockApply(x, rows, b);
        let d = 0;
        let m = 0;
        for (let i = 0; i < ref.length; i++) {
          d = Math.max(d, Math.abs(y[i]! - ref[i]!));
          m = Math.max(m, Math.abs(ref[i]!));
        }
        expect(d / m).toBeLessThan(1e-5);
      }
    });
    it('rejects a block that does not divide n (typed error)', async () => {
      await expect(blockGemmGpuJs(x, rows, n, new Float32Array(n * 5), 5, mode)).rejects.toThrow(
        NqInputError,
      );
    });
  });
}
