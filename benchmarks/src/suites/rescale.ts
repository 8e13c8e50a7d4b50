import { Rng } from '@nq/core';
import { fakeQuant, type QuantSpec } from '@nq/quant-fp';
import { awqSearch, hessianDiagScales, scaleWeight } from '@nq/rescale';
import { measureCases, type SuiteCase } from '../cases.js';
import type { Suite } from '../suite.js';

/**
 * @nq/rescale (cpu): W·diag(s) on one weight (4 bytes read + 4 written per weight), and AWQ's grid
 * search on one layer input (calibration rows × channels, 5 exponents, INT4 g128 weights).
 */
const suite: Suite = {
  name: 'rescale',
  description: '@nq/rescale: weight rescale and AWQ search on cpu',
  async run(ctx) {
    const cases: SuiteCase[] = [];
    if (!ctx.backend || ctx.backend === 'cpu') {
      const shapes: [number, number][] = ctx.quick
        ? [[256, 256]]
        : [
            [256, 256],
            [4096, 4096],
          ];
      for (const [rows, cols] of shapes) {
        const w = { rows, cols, data: new Rng(rows).normals(rows * cols) };
        const s = hessianDiagScales(
          Float64Array.from({ length: cols }, (_, j) => 1 + (j % 7)),
          0.2,
        );
        cases.push({
          op: 'scaleWeight',
          backend: 'cpu',
          n: rows * cols,
          shape: `${rows}×${cols}`,
          bytes: 8 * rows * cols,
          time: ctx.quick ? 100 : 500,
          fn: () => scaleWeight(w, s),
        });
      }
      const T = ctx.quick ? 256 : 2048;
      const n = 256;
      const x = { rows: T, cols: n, data: new Rng(1).normals(T * n) };
      const ws = [{ rows: 768, cols: n, data: new Rng(2).normals(768 * n) }];
      const meanAbs = new Float64Array(n).fill(0.8);
      const spec: QuantSpec = {
        format: 'int',
        bits: 4,
        granularity: 'group',
        groupSize: 128,
        symmetric: false,
      };
      cases.push({
        op: 'awqSearch',
        backend: 'cpu',
        n: T * n,
        shape: `${T}×${n} → 768, 5 α`,
        time: ctx.quick ? 100 : 1000,
        fn: () =>
          awqSearch(x, ws, meanAbs, {
            quantizeWeight: (w) => fakeQuant(w, spec),
            grid: [0, 0.25, 0.5, 0.75, 1],
          }),
      });
    }
    return measureCases('rescale', ctx, cases);
  },
};

export default suite;
