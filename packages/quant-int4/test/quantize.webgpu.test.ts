import { matrix, NqInputError } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { fakeQuantInt, quantizeInt } from '../src/cpu/int-quantize.js';
import { unitOf } from '../src/layout.js';
import { type Granularity, parseQuantSpec } from '../src/spec.js';
import { fakeQuantIntWebGPU, quantizeIntWebGPU } from '../src/webgpu/index.js';
import { compareFakeQuant, llmLike } from './conformance-util.js';

// Small inputs: this runs on Mesa's llvmpipe CPU adapter in CI.
describe('webgpu INT fake-quant conforms to the CPU reference', () => {
  const x = llmLike(24, 256, 77);
  const grans: Granularity[] = ['tensor', 'token', 'channel', 'group'];
  for (const g of grans) {
    for (const [bits, sym] of [
      [4, true],
      [4, false],
      [8, true],
      [3, false],
    ] as const) {
      it(`${g} int${bits} ${sym ? 'sym' : 'asym'}`, async () => {
        const spec = parseQuantSpec({
          format: 'int',
          bits,
          granularity: g,
          symmetric: sym,
          ...(g === 'group' ? { groupSize: 64 } : {}),
        });
        const cpuQ = quantizeInt(x, spec);
        const cpu = fakeQuantInt(x, spec);
        const gpu = await fakeQuantIntWebGPU(x, spec);
        const r = compareFakeQuant(
          gpu.data,
          cpu.data,
          (f) => cpuQ.scales[unitOf(cpuQ.layout, Math.floor(f / x.cols), f % x.cols)]!,
        );
        expect(r.worst).toBeLessThan(1.0001);
        const gq = await quantizeIntWebGPU(x, spec);
        for (let u = 0; u < cpuQ.scales.length; u++)
          expect(Math.abs(gq.scales[u]! - cpuQ.scales[u]!)).toBeLessThanOrEqual(
            2e-6 * Math.abs(cpuQ.scales[u]!),
          );
        let codeOff = 0;
        for (let f = 0; f < cpuQ.codes.length; f++) if (gq.codes[f] !== cpuQ.codes[f]) codeOff++;
        expect(codeOff).toBeLessThanOrEqual(0.002 * cpuQ.codes.length);
      });
    }
  }

  it('ties round half to even on the GPU too', async () => {
    const y = await fakeQuantIntWebGPU(matrix(1, 8, [7, 0.5, 1.5, 2.5, -2.5, -3.5, 6.5, -0.5]), {
      format: 'int',
      bits: 4,
      granularity: 'token',
    });
    expect(Array.from(y.data, (v) => v + 0)).toEqual([7, 0, 2, 2, -2, -4, 6, 0]);
  });

  it('tensor granularity over more than one reduction chunk', async () => {
    const big = llmLike(40, 512, 3); // 20480 elements > 8192: three-stage reduction
    const spec = { format: 'int', bits: 4, granularity: 'tensor' } as const;
    const cpuQ = quantizeInt(big, spec);
    const gpu = await fakeQuantIntWebGPU(big, spec);
    compareFakeQuant(gpu.data, fakeQuantInt(big, spec).data, () => cpuQ.scales[0]!);
  });

  it('clip search on the GPU matches the CPU choice', async () => {
    for (const g of ['token', 'group', 'channel'] as const) {
      const spec = parseQuantSpec({
        format: 'int',
        bits: 4,
        granularity: g,
        groupSize: g === 'group' ? 64 : undefined,
        clipSearch: { grid: 40, maxShrink: 0.5, norm: 2.4 },
      });
      const cpuQ = quantizeInt(x, spec);
      const gq = await quantizeIntWebGPU(x, spec);
      let differ = 0;
      for (let u = 0; u < cpuQ.scales.length; u++)
        if (Math.abs(gq.scales[u]! - cpuQ.scales[u]!) > 1e-5 * cpuQ.scales[u]!) differ++;
      // near-equal errors between two ratios can flip with float32 summation; allow a few units
      expect(differ).toBeLessThanOrEqual(Math.max(1, 0.02 * cpuQ.scales.length));
    }
  });

  it('bad input: typed errors before any GPU work', async () => {
    await expect(fakeQuantIntWebGPU(llmLike(2, 100, 1), { format: 'int', groupSize: 64 })).rejects.toThrow(
      NqInputError,
    );
    const bad = llmLike(2, 64, 1);
    bad.data[9] = Number.NaN;
    await expect(fakeQuantIntWebGPU(bad, { format: 'int', granularity: 'token' })).rejects.toThrow(
      NqInputError,
    );
    await expect(
      fakeQuantIntWebGPU(matrix(0, 4, []), { format: 'int', granularity: 'token' }),
    ).rejects.toThrow(NqInputError);
  });
});
