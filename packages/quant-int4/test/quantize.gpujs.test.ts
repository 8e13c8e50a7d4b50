import { matrix, NqUnsupportedError } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { fakeQuantInt, quantizeInt } from '../src/cpu/int-quantize.js';
import { fakeQuantIntGpuJs } from '../src/gpujs/index.js';
import { unitOf } from '../src/layout.js';
import { type Granularity, parseQuantSpec } from '../src/spec.js';
import { compareFakeQuant, llmLike } from './conformance-util.js';

// gpu.js in its WebAssembly mode (runs everywhere) and its WebGPU mode (on the same adapter as the
// raw WebGPU backend: llvmpipe here). Small inputs.
for (const mode of ['webasm', 'webgpu'] as const) {
  describe(`gpu.js (${mode}) INT fake-quant conforms to the CPU reference`, () => {
    const x = llmLike(8, 128, 31);
    for (const g of ['tensor', 'token', 'channel', 'group'] as Granularity[]) {
      for (const [bits, sym] of [
        [4, true],
        [4, false],
        [8, true],
      ] as const) {
        it(`${g} int${bits} ${sym ? 'sym' : 'asym'}`, async () => {
          const spec = parseQuantSpec({
            format: 'int',
            bits,
            granularity: g,
            symmetric: sym,
            ...(g === 'group' ? { groupSize: 32 } : {}),
          });
          const cpuQ = quantizeInt(x, spec);
          const got = await fakeQuantIntGpuJs(x, spec, mode);
          compareFakeQuant(
            got.data,
            fakeQuantInt(x, spec).data,
            (f) => cpuQ.scales[unitOf(cpuQ.layout, Math.floor(f / x.cols), f % x.cols)]!,
          );
        });
      }
    }
    it('ties to even', async () => {
      const y = await fakeQuantIntGpuJs(
        matrix(1, 8, [7, 0.5, 1.5, 2.5, -2.5, -3.5, 6.5, -0.5]),
        { format: 'int', bits: 4, granularity: 'token' },
        mode,
      );
      expect(Array.from(y.data, (v) => v + 0)).toEqual([7, 0, 2, 2, -2, -4, 6, 0]);
    });
  });
}

describe('gpu.js unsupported options', () => {
  it('clip search is refused with a typed error', async () => {
    await expect(
      fakeQuantIntGpuJs(llmLike(2, 32, 1), { format: 'int', granularity: 'token', clipSearch: true }),
    ).rejects.toThrow(NqUnsupportedError);
  });
});
