import { Rng } from '@nq/core';
import { gptqTurboQuant, turboquantFakeQuant } from '@nq/turboquant';
import { measureCases, type SuiteCase } from '../cases.js';
import type { Suite } from '../suite.js';

/**
 * @nq/turboquant (cpu): TurboQuant fake-quant (normalize, sign + FWHT, nearest centroid, inverse,
 * norm correction) of one weight matrix, and GPTQ with the TurboQuant inner scheme on one layer.
 * Bytes per fake-quant pass: 4 read + 4 written per weight.
 */
const suite: Suite = {
  name: 'turboquant',
  description: '@nq/turboquant fake-quant and GPTQ-TurboQuant on cpu',
  async run(ctx) {
    const shapes: [number, number][] = ctx.quick
      ? [[256, 256]]
      : [
          [256, 256],
          [768, 256],
          [4096, 4096],
        ];
    const cases: SuiteCase[] = [];
    if (!ctx.backend || ctx.backend === 'cpu') {
      for (const [rows, cols] of shapes) {
        const w = { rows, cols, data: new Rng(rows + cols).normals(rows * cols) };
        const n = rows * cols;
        cases.push({
          op: 'fakeQuant',
          backend: 'cpu',
          n,
          shape: `${rows}×${cols} b4 g128`,
          bytes: 8 * n,
          time: ctx.quick ? 100 : 500,
          fn: () => turboquantFakeQuant(w, { bits: 4, groupSize: 128, seed: 0 }),
        });
      }
      const [rows, cols] = ctx.quick ? [128, 256] : [768, 256];
      const w = { rows, cols, data: new Rng(7).normals(rows * cols) };
      const h = { n: cols, data: new Float64Array(cols * cols), samples: 1 };
      const x = new Rng(8).normals(512 * cols);
      for (let t = 0; t < 512; t++)
        for (let i = 0; i < cols; i++)
          for (let j = 0; j < cols; j++)
            h.data[i * cols + j] += (2 * x[t * cols + i]! * x[t * cols + j]!) / 512;
      cases.push({
        op: 'gptqTurboQuant',
        backend: 'cpu',
        n: rows * cols,
        shape: `${rows}×${cols} b4 g128`,
        time: ctx.quick ? 100 : 1000,
        fn: () => gptqTurboQuant(w, h, { spec: { bits: 4, groupSize: 128 }, proxyLoss: false }),
      });
    }
    return measureCases('turboquant', ctx, cases);
  },
};

export default suite;
