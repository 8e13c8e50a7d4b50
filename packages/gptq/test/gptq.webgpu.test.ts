import { matrix, NqUnsupportedError, Rng } from '@nq/core';
import { hasWebGPU } from '@nq/core/webgpu';
import type { QuantSpec } from '@nq/quant-fp';
import { describe, expect, it } from 'vitest';
import { gptqQuantize, hessianOf } from '../src/index.js';
import { gptqQuantizeWebGPU, HessianAccumulatorWebGPU, hessianOfWebGPU } from '../src/webgpu/index.js';
import { correlatedInputs } from './helpers.js';

// Small inputs: in CI this runs on Mesa's llvmpipe CPU adapter.
const available = await hasWebGPU();

describe.skipIf(!available)('webgpu GPTQ conforms to the cpu backend (skipped: no WebGPU adapter)', () => {
  it('Hessian 2·XᵀX/N (n = 72, 150 tokens, two batches): ≤ 1e-5 relative to the float64 cpu result', async () => {
    const x = correlatedInputs(150, 72, 3);
    const cpu = hessianOf(x);
    const acc = await HessianAccumulatorWebGPU.create(72);
    acc.add({ rows: 70, cols: 72, data: x.data.subarray(0, 70 * 72) });
    acc.add({ rows: 80, cols: 72, data: x.data.subarray(70 * 72) });
    const gpu = await acc.finalize();
    acc.destroy();
    let maxAbs = 0;
    let maxRef = 0;
    for (let i = 0; i < cpu.data.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(gpu.data[i]! - cpu.data[i]!));
      maxRef = Math.max(maxRef, Math.abs(cpu.data[i]!));
    }
    expect(maxAbs / maxRef).toBeLessThan(1e-5);
    expect(gpu.samples).toBe(150);
    const one = await hessianOfWebGPU(x);
    expect(one.data[5 * 72 + 9]).toBeCloseTo(cpu.data[5 * 72 + 9]!, 4);
  });

  const x = correlatedInputs(300, 96, 5);
  const h = hessianOf(x);
  const w = matrix(24, 96, new Rng(6).normals(24 * 96));
  const cases: [string, QuantSpec, boolean][] = [
    [
      'int4 g32 asym, act-order + static groups',
      { format: 'int', bits: 4, granularity: 'group', groupSize: 32, symmetric: false },
      true,
    ],
    [
      'int4 g32 asym',
      { format: 'int', bits: 4, granularity: 'group', groupSize: 32, symmetric: false },
      false,
    ],
    ['int3 per-row sym, act-order', { format: 'int', bits: 3, granularity: 'token' }, true],
    ['nvfp4', { format: 'nvfp4' }, false],
  ];
  for (const [label, spec, actOrder] of cases) {
    it(`GPTQ ${label}: codes agree ≥ 99 %, proxy loss within 1 %`, async () => {
      const opts = { scheme: spec, actOrder, staticGroups: actOrder, blockSize: 32 };
      const cpu = gptqQuantize(w, h, opts);
      const gpu = await gptqQuantizeWebGPU(w, h, opts);
      let same = 0;
      for (let i = 0; i < cpu.codes.length; i++) if (cpu.codes[i] === gpu.codes[i]) same++;
      expect(same / cpu.codes.length).toBeGreaterThan(0.99);
      expect(Math.abs(gpu.proxyLoss! / cpu.proxyLoss! - 1)).toBeLessThan(0.01);
      expect(gpu.proxyLoss!).toBeLessThan(gpu.rtnProxyLoss!);
    });
  }

  it('groups straddling lazy blocks are refused with a typed error', async () => {
    await expect(
      gptqQuantizeWebGPU(w, h, {
        scheme: { format: 'int', bits: 4, granularity: 'group', groupSize: 32 },
        blockSize: 20,
      }),
    ).rejects.toThrow(NqUnsupportedError);
  });
});
