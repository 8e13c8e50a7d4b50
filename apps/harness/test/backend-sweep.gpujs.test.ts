import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sweepCommand } from '../src/commands/sweep.js';
import { ResultsStore } from '../src/store/results-store.js';
import type { ResultRow } from '../src/store/row.js';
import { tmpDir, writeSmallSweep } from './helpers.js';

/**
 * `nq sweep --backend gpujs` (gpu.js in its webgpu mode, on the CI adapter): each row matches its
 * CPU row within the same tolerances as the WebGPU test (relative errors 1e-3, SQNR 0.01 dB).
 */
describe('nq sweep --backend gpujs', () => {
  it('stores gpujs rows (mode and adapter in provenance) with the cpu rows’ metrics', async () => {
    const dir = tmpDir('gpujs');
    const file = writeSmallSweep(dir, 'gj-small', [2]);
    const out = path.join(dir, 'gj-small.jsonl');
    const quiet = { out, progress: false, out_stream: () => {}, log: () => {} };
    await sweepCommand(file, quiet);
    await sweepCommand(file, { ...quiet, backend: 'gpujs' });
    const rows = ResultsStore.openRead(out).latest();
    const cpu = rows.filter((r) => !r.labels.backend);
    const gj = rows.filter((r) => r.labels.backend === 'gpujs');
    expect(gj).toHaveLength(cpu.length);
    const key = (r: ResultRow) => `${r.labels.rotation} ${r.labels.act} ${r.labels.weight}`;
    for (const g of gj) {
      const c = cpu.find((x) => key(x) === key(g))!;
      expect(g.provenance.adapter).toMatch(/^gpu\.js webgpu/);
      for (const m of ['act_rel_mse', 'w_rel_mse', 'gemm_rel_mse'])
        if (c.metrics[m] !== undefined)
          expect(Math.abs(g.metrics[m]! - c.metrics[m]!) / c.metrics[m]!, `${key(g)} ${m}`).toBeLessThan(
            1e-3,
          );
      for (const m of ['act_sqnr_db', 'gemm_sqnr_db'])
        if (c.metrics[m] !== undefined) expect(Math.abs(g.metrics[m]! - c.metrics[m]!)).toBeLessThan(0.01);
    }
  });
});
