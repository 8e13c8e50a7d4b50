import { Rng } from '@nq/core';
import { type BenchRecord, measure, withBaseline } from '@nq/core/bench';
// Relative import until benchmarks/package.json lists "@nq/geometry-correction": "workspace:*" (a root-owned file).
import { correctionSse, momentsOf, solveRidge } from '../../../packages/geometry-correction/src/cpu/index.js';
import type { Suite } from '../suite.js';

/**
 * The study's inner kernels on CPU (float64), at the study's largest shape (d = 256 channels,
 * 1536 training rows, 512 held-out rows): the moments pass of the ridge fit (XᵀX upper triangle +
 * XᵀE), the closed-form solve (Cholesky + 256 right-hand sides) and the held-out residual pass
 * (X·B per row). Bytes = the float32 inputs read once, so ratio = GB/s ÷ the run's 1-thread triad.
 */
const suite: Suite = {
  name: 'geometry-correction',
  description:
    'geometry-correction: ridge correction moments / solve / held-out residual, d=256, CPU float64',
  async run(ctx) {
    if (ctx.backend && ctx.backend !== 'cpu') return [];
    const d = ctx.quick ? 64 : 256;
    const n = ctx.quick ? 384 : 1536;
    const nHo = n / 3;
    const rng = new Rng(1);
    const x = rng.normals((n + nHo) * d);
    const e = new Float64Array(rng.normals((n + nHo) * d));
    const mo = momentsOf(x, e, d, d, [[0, n]]);
    const corr = solveRidge(mo, 1e-2);
    const base = ctx.baselines.get('triad-1t');
    const opts = { time: ctx.quick ? 200 : 2000, iterations: ctx.quick ? 2 : 5 };
    const cases = [
      {
        op: 'ridge-moments',
        n,
        bytes: 2 * n * d * 4,
        flops: n * (d * d + 2 * d * d),
        fn: () => momentsOf(x, e, d, d, [[0, n]]),
      },
      {
        op: 'ridge-solve',
        n: d,
        bytes: 2 * d * d * 8,
        flops: d ** 3 / 3 + 2 * d ** 3,
        fn: () => solveRidge(mo, 1e-2),
      },
      {
        op: 'ridge-residual',
        n: nHo,
        bytes: 2 * nHo * d * 4,
        flops: 2 * nHo * d * d,
        fn: () => correctionSse(corr, x, e, d, d, [[n, n + nHo]]),
      },
    ];
    const records: BenchRecord[] = [];
    for (const c of cases) {
      const rec = await measure(
        'geometry-correction',
        { ...c, backend: 'cpu', shape: `d=${d}`, ...opts },
        ctx.machine,
      );
      ctx.log(
        `geometry-correction ${c.op}: ${rec.median_ms.toFixed(1)} ms (${rec.gflops?.toFixed(2)} GFLOP/s)`,
      );
      records.push(base ? withBaseline(rec, 'triad-1t', base) : rec);
    }
    return records;
  },
};

export default suite;
