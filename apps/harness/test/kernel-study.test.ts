import { gemmError } from '@nq/quant-int4';
import { describe, expect, it } from 'vitest';
import { KernelMemo, runKernelCell } from '../src/studies/kernel-study.js';
import type { KernelCell } from '../src/sweep/cell.js';
import { expandGrid } from '../src/sweep/grid.js';
import { parseSweep } from '../src/sweep/load.js';
import { syntheticActivations, syntheticWeights } from '../src/synthetic/profiles.js';
import { cpuOps } from '../src/techniques/ops.js';

function cells(rotations: string[], act: string[], weight: string[]): KernelCell[] {
  const s = parseSweep({
    name: 'k',
    seeds: [7],
    kernel: { data: ['docs5m-down'], rotations, act, weight, tokens: 24, channels: 64, out: 12 },
  });
  return expandGrid(s).cells.map((c) => c.spec as KernelCell);
}

/** Symmetric per-row INT-b fake-quant written from the definition, round half to even. */
function refQuantRows(x: Float32Array, rows: number, cols: number, bits: number): Float64Array {
  const qmax = 2 ** (bits - 1) - 1;
  const out = new Float64Array(x.length);
  const rne = (v: number) => {
    const f = Math.floor(v);
    const d = v - f;
    return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f;
  };
  for (let r = 0; r < rows; r++) {
    let m = 0;
    for (let c = 0; c < cols; c++) m = Math.max(m, Math.abs(x[r * cols + c]!));
    const s = Math.fround(m / qmax);
    for (let c = 0; c < cols; c++)
      out[r * cols + c] =
        s === 0 ? 0 : Math.fround(Math.min(qmax, Math.max(-qmax - 1, rne(x[r * cols + c]! / s))) * s);
  }
  return out;
}

describe('kernel-level cell metrics', () => {
  const ops = cpuOps();

  it('is exact with nothing quantized, and a rotation alone keeps X·Wᵀ (orthogonality)', () => {
    const [plain] = cells(['none'], ['none'], ['none']);
    expect(runKernelCell(plain!, ops).metrics.gemm_rel_mse).toBe(0);
    const [rot] = cells(['ro'], ['none'], ['none']);
    expect(runKernelCell(rot!, ops).metrics.gemm_rel_mse).toBeLessThan(1e-10);
  });

  it('activation error equals ‖Q(X) − X‖²/‖X‖² with a from-definition INT8 per-token quantizer', () => {
    const [c] = cells(['none'], ['int8-token'], ['none']);
    const m = runKernelCell(c!, ops).metrics;
    const x = syntheticActivations(c!.data, c!.seed);
    const q = refQuantRows(x.data, x.rows, x.cols, 8);
    let e = 0;
    let s = 0;
    for (let i = 0; i < q.length; i++) {
      e += (q[i]! - x.data[i]!) ** 2;
      s += x.data[i]! ** 2;
    }
    expect(m.act_rel_mse).toBeGreaterThan(0);
    expect(Math.abs(m.act_rel_mse! - e / s) / (e / s)).toBeLessThan(1e-6);
    expect(m.act_sqnr_db).toBeCloseTo(-10 * Math.log10(e / s), 4);
  });

  it('W4A4 GEMM error agrees with @nq/quant-int4 gemmError (float32 products there, float64 here)', () => {
    for (const c of cells(['none', 'ro'], ['int4-token'], ['rtn-int4-row'])) {
      const m = runKernelCell(c, ops).metrics;
      const x = syntheticActivations(c.data, c.seed);
      const w = syntheticWeights(c.data, c.seed);
      const rep = gemmError(x, w, {
        rotate: c.rotation.spec.kind === 'none' ? null : (mm) => ops.rotate(mm, c.rotation.spec, c.seed),
        activation: { format: 'int', bits: 4, granularity: 'token', symmetric: true },
        weight: { format: 'int', bits: 4, granularity: 'token', symmetric: true },
      });
      const theirs = rep.gemm.sse / rep.gemm.signal;
      expect(Math.abs(m.gemm_rel_mse! - theirs) / theirs).toBeLessThan(1e-4);
      expect(
        Math.abs(m.act_rel_mse! - rep.activation.sse / rep.activation.signal) / m.act_rel_mse!,
      ).toBeLessThan(1e-4);
    }
  });

  it('gives the same numbers with the sweep memo (shared X, W, X·Wᵀ, X·R) as cell by cell', () => {
    const memo = new KernelMemo(2);
    for (const c of cells(
      ['none', 'had', 'bhad16', 'ro'],
      ['int4-token', 'nvfp4'],
      ['none', 'rtn-int4-row'],
    )) {
      expect(runKernelCell(c, ops, memo).metrics).toEqual(runKernelCell(c, cpuOps()).metrics);
    }
  });

  it('is bit-identical when recomputed (what nq reproduce relies on)', () => {
    const [c] = cells(['ro'], ['int4-tensor'], ['rtn-int4-row']);
    expect(runKernelCell(c!, cpuOps()).metrics).toEqual(runKernelCell(c!, cpuOps()).metrics);
  });
});

describe('bits per element in kernel rows (through the sweep executor)', () => {
  it('stores the weight and activation quantizers’ bits, counted from their definitions', async () => {
    const { cellExecutor } = await import('../src/studies/execute.js');
    const [cell] = cells(['none'], ['int8-token'], ['rtn-int4-row']);
    const o = await cellExecutor()(cell!);
    // W (12 × 64), symmetric INT4 per output row: 4-bit codes + one float32 scale per 64-element row.
    expect(o.metrics.bits_per_param).toBeCloseTo(4 + 32 / 64, 12);
    expect(o.metrics.linear_bits_per_param).toBe(o.metrics.bits_per_param);
    // X (24 × 64), INT8 per token: 8-bit codes + one float32 scale per 64-channel token.
    expect(o.metrics.act_bits).toBeCloseTo(8 + 32 / 64, 12);
  });
});
