import path from 'node:path';
import { NqInputError } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { backendTag, sweepCommand } from '../src/commands/sweep.js';
import { ResultsStore } from '../src/store/results-store.js';
import type { ResultRow } from '../src/store/row.js';
import { cellExecutor } from '../src/studies/execute.js';
import type { KernelCell } from '../src/sweep/cell.js';
import { tmpDir, writeSmallSweep } from './helpers.js';

/**
 * `nq sweep --backend webgpu` on the CI adapter (Mesa llvmpipe): a tiny kernel sweep run on the CPU
 * and on WebGPU; each WebGPU row must match its CPU row. Tolerances: the rotation is the same FWHT
 * in float32 (different summation order → ~1e-7 relative per element), and a few quantization codes
 * may round the other way at a tie-near boundary, so relative errors agree to 1e-3 and SQNRs to
 * 0.01 dB; the statistics of X (no backend involved) agree exactly.
 */
describe('nq sweep --backend webgpu', () => {
  it('stores webgpu rows beside the cpu rows, tagged with the adapter, with the same metrics', async () => {
    const dir = tmpDir('webgpu');
    const file = writeSmallSweep(dir, 'gpu-small', [5]);
    const out = path.join(dir, 'gpu-small.jsonl');
    const quiet = { out, progress: false, out_stream: () => {}, log: () => {} };
    await sweepCommand(file, quiet);
    await sweepCommand(file, { ...quiet, backend: 'webgpu' });
    const rows = ResultsStore.openRead(out).latest();
    const cpu = rows.filter((r) => !r.labels.backend);
    const gpu = rows.filter((r) => r.labels.backend === 'webgpu');
    expect(cpu).toHaveLength(8);
    expect(gpu).toHaveLength(8);
    const key = (r: ResultRow) => `${r.labels.rotation} ${r.labels.act} ${r.labels.weight}`;
    for (const g of gpu) {
      const c = cpu.find((x) => key(x) === key(g))!;
      expect(g.cell).not.toBe(c.cell);
      expect(g.provenance.backend).toBe('webgpu');
      expect(g.provenance.adapter).toBe((g.spec as KernelCell).backend!.adapter);
      expect(g.provenance.adapter).toMatch(/\S/);
      for (const m of ['act_rel_mse', 'w_rel_mse', 'gemm_rel_mse'])
        if (c.metrics[m] !== undefined)
          expect(Math.abs(g.metrics[m]! - c.metrics[m]!) / c.metrics[m]!, `${key(g)} ${m}`).toBeLessThan(
            1e-3,
          );
      for (const m of ['act_sqnr_db', 'gemm_sqnr_db'])
        if (c.metrics[m] !== undefined)
          expect(Math.abs(g.metrics[m]! - c.metrics[m]!), `${key(g)} ${m}`).toBeLessThan(0.01);
      expect(g.metrics.x_kurtosis).toBe(c.metrics.x_kurtosis);
      expect(Math.abs(g.metrics.xr_kurtosis! - c.metrics.xr_kurtosis!) / c.metrics.xr_kurtosis!).toBeLessThan(
        1e-4,
      );
    }
    // A second run computes nothing: the webgpu cells are found under their own ids.
    const again = await sweepCommand(file, { ...quiet, backend: 'webgpu' });
    expect(again.summary.computed).toBe(0);
  });

  it('refuses an unknown backend, and a stored GPU cell from another adapter instead of running it elsewhere', async () => {
    await expect(backendTag('cuda')).rejects.toThrow(NqInputError);
    await expect(backendTag('cuda')).rejects.toThrow(/--backend.*Use one of cpu, webgpu, gpujs/s);
    const tag = (await backendTag('webgpu'))!;
    const dir = tmpDir('webgpu2');
    const out = path.join(dir, 'one.jsonl');
    await sweepCommand(writeSmallSweep(dir, 'one', [1]), {
      out,
      progress: false,
      out_stream: () => {},
      log: () => {},
      backend: 'webgpu',
      maxCells: 1,
    });
    const [row] = ResultsStore.openRead(out).latest();
    const spec = { ...(row!.spec as KernelCell), backend: { ...tag, adapter: 'some other GPU' } };
    await expect(cellExecutor()(spec)).rejects.toThrow(/adapter "some other GPU", this machine has/);
  });
});
