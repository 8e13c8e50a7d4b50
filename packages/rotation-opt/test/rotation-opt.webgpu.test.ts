import { NqUnsupportedError, Rng } from '@nq/core';
import { hasWebGPU } from '@nq/core/webgpu';
import { randomOrthogonal, toDense } from '@nq/hadamard';
import { describe, expect, it } from 'vitest';
import { blockApply, blockCross, CpuCodecEngine, trainAdaCodec } from '../src/adacodec.js';
import { blockRandomHadamard, blockToDense, blockTranspose } from '../src/cayley.js';
import { weightedCross } from '../src/cpu/procrustes.js';
import { refineDfrot } from '../src/dfrot.js';
import { activationSpec, rowQuantizer } from '../src/quantizers.js';
import { expectedErrorSurrogate, surrogateFor } from '../src/surrogate.js';
import { refineDfrotWebGPU, trainAdaCodecWebGPU, WebGpuActivations } from '../src/webgpu/index.js';

// Small inputs (≈ 0.1 MB per matrix): in CI this runs on Mesa's llvmpipe CPU adapter.
const available = await hasWebGPU();

const rows = 96;
const n = 64;
const rng = new Rng(31);
// Heavy-tailed channels so rotations matter; 96 rows = 3 NVFP4 windows of 32 rows.
const x = Float32Array.from({ length: rows * n }, (_, i) => rng.normal() * (i % n < 3 ? 6 : 1));
const w = Float64Array.from({ length: rows }, (_, t) => (t % 17 === 0 ? 5 : 1));

/** max |a − b| / max |b|. */
function relMax(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / m;
}

describe.skipIf(!available)(
  'webgpu rotation-opt conforms to the cpu backend (skipped: no WebGPU adapter)',
  () => {
    it('block GEMM X·B and X·Bᵀ (b = 16 and dense b = n): ≤ 1e-5 relative to the cpu blockApply', async () => {
      const g = await WebGpuActivations.create(x, rows, n, 'int4');
      try {
        for (const block of [16, n]) {
          const b =
            block === n
              ? { n, block, blocks: Float64Array.from(toDense(randomOrthogonal(n, 3)).data) }
              : blockRandomHadamard(n, 16, 4);
          g.setMatrix(0, b.blocks, block);
          g.gemm('x', 0, block, 'z');
          expect(relMax(await g.read('z'), blockApply(x, rows, b))).toBeLessThan(1e-5);
          g.gemm('x', 0, block, 'y', true);
          expect(relMax(await g.read('y'), blockApply(x, rows, blockTranspose(b)))).toBeLessThan(1e-5);
        }
        expect(() => g.setMatrix(0, new Float64Array(8 * 8 * 8), 8)).toThrow(NqUnsupportedError);
      } finally {
        g.destroy();
      }
    });

    for (const format of ['int4', 'nvfp4'] as const) {
      it(`${format} fake quantization of X·R equals @nq/quant-fp's quantizer (per window of 32 rows) except at rare rounding ties`, async () => {
        const r = toDense(randomOrthogonal(n, 5)).data;
        const g = await WebGpuActivations.create(x, rows, n, format, { chunkRows: 32 });
        try {
          g.setMatrix(0, r, n);
          g.gemm('x', 0, n, 'z');
          g.quantize('z', 'zq');
          const z = await g.read('z');
          const zq = await g.read('zq');
          const ref = new Float32Array(rows * n);
          rowQuantizer(activationSpec(format), 32)(z, rows, n, ref);
          let differ = 0;
          for (let i = 0; i < ref.length; i++)
            if (Math.abs(zq[i]! - ref[i]!) > 1e-6 * Math.max(1, Math.abs(ref[i]!))) differ++;
          // f32 division on the GPU vs float64 on the CPU can move a value sitting on a rounding
          // boundary by one code; allow 0.2 % of the elements.
          expect(differ / ref.length).toBeLessThan(2e-3);
        } finally {
          g.destroy();
        }
      });
    }

    it('block cross products AᵀWC and the expected-error surrogate gradient: ≤ 1e-5 relative to the cpu float64 sums', async () => {
      const g = await WebGpuActivations.create(x, rows, n, 'int4', { weights: w });
      try {
        const b = blockRandomHadamard(n, 16, 9);
        g.setMatrix(0, b.blocks, 16);
        g.gemm('x', 0, 16, 'z');
        const z = await g.read('z');
        // Weighted dense cross XᵀWZ (b = n) against the float64 weightedCross.
        expect(relMax(await g.cross('x', 'z', n, true), weightedCross(x, z, rows, n, w))).toBeLessThan(1e-5);
        // Unweighted block cross (b = 16).
        const ref = blockCross(x, z, rows, n, 16, new Float64Array((n / 16) * 256));
        expect(relMax(await g.cross('x', 'z', 16, false), ref)).toBeLessThan(1e-5);
        for (const s of [surrogateFor('int4'), surrogateFor('nvfp4', 8)]) {
          const gradRef = new Float32Array(rows * n);
          const vRef = expectedErrorSurrogate(z, rows, n, s, w, g.den, gradRef);
          const v = await g.surrogate(s);
          expect(Math.abs(v - vRef) / vRef).toBeLessThan(1e-4);
          expect(relMax(await g.read('g'), gradRef)).toBeLessThan(1e-4);
        }
      } finally {
        g.destroy();
      }
    });

    it('DFRot on webgpu follows the cpu refinement (INT4, 6 iterations): same loss curve within 2 %', async () => {
      const init = toDense(randomOrthogonal(n, 11)).data;
      const q = rowQuantizer(activationSpec('int4'));
      const cpu = refineDfrot(x, rows, n, init, q, { iterations: 6, weights: w });
      const gpu = await refineDfrotWebGPU(x, rows, n, init, 'int4', { iterations: 6, weights: w });
      expect(gpu.loss).toHaveLength(7);
      for (let i = 0; i < 7; i++)
        expect(Math.abs(gpu.loss[i]! - cpu.loss[i]!) / cpu.loss[i]!).toBeLessThan(0.02);
      expect(gpu.loss[gpu.best]!).toBeLessThan(gpu.loss[0]!);
    });

    for (const [label, opts] of [
      [
        'expected-error surrogate + Procrustes decoder',
        { gradient: 'expected', decoder: 'procrustes', lr: 0.1 },
      ],
      ['STE encoder and decoder', { gradient: 'ste', decoder: 'ste', momentum: 0, lr: 0.02 }],
    ] as const) {
      it(`AdaCodec on webgpu (${label}, INT4, b = 16, 5 steps) follows the cpu training: loss curve within 2 %`, async () => {
        const q = rowQuantizer(activationSpec('int4'));
        const o = { block: 16, seed: 2, iterations: 5, weights: w, surrogate: surrogateFor('int4'), ...opts };
        const cpu = trainAdaCodec(x, rows, n, q, o);
        const gpu = await trainAdaCodecWebGPU(x, rows, n, 'int4', o);
        for (let i = 0; i < 6; i++)
          expect(Math.abs(gpu.loss[i]! - cpu.loss[i]!) / cpu.loss[i]!).toBeLessThan(0.02);
        // The returned codec's real loss, recomputed on the CPU.
        const eng = new CpuCodecEngine(x, rows, n, 16, q, w);
        eng.encode(gpu.enc);
        expect(eng.decode(gpu.dec)).toBeCloseTo(gpu.loss[gpu.best]!, 4);
        expect(relMax(blockToDense(gpu.enc), blockToDense(cpu.enc))).toBeLessThan(0.05);
      });
    }
  },
);
