import { Rng } from '@nq/core';
import { type BenchRecord, measure, withBaseline } from '@nq/core/bench';
import { compileRotation } from '@nq/hadamard';
// Relative import until benchmarks/package.json lists "@nq/es-search": "workspace:*" (a root-owned file).
import {
  CpuErrorEvaluator,
  defaultOperatorOptions,
  type QuantTarget,
  randomGenome,
  toRotationSpec,
} from '../../../packages/es-search/src/index.js';
import type { Suite } from '../suite.js';

/**
 * @nq/es-search: candidate evaluations per second on the CPU — the inner loop of the search. One pass
 * scores a batch of `batch` random genomes (1–3 block-Hadamard stages with signs) in one
 * `errors()` call on seeded LLM-like activations (Gaussian with 4 outlier channels ×20):
 *  - int8 / int4: rotate X (tokens × k) and fake-quant per token; bytes = X read + x·R written and
 *    re-read/re-written by the quantizer (4 passes of T·k floats) per candidate;
 *  - w4a4: also W·R, its fake-quant, and the GEMM Q(X·R)·Q(W·R)ᵀ (flops 2·T·k·out per candidate).
 * Shapes are nq-docs-5M's: k = 256 (attention/MLP inputs, W = gate|up 1536 × 256) and k = 768
 * (down_proj input, W 256 × 768). ratio = GB/s ÷ the same run's 1-thread triad.
 */
const suite: Suite = {
  name: 'es-search',
  description: 'es-search: candidate evaluations/s (int8, int4, w4a4 cost) on CPU',
  async run(ctx) {
    if (ctx.backend && ctx.backend !== 'cpu') return [];
    const T = ctx.quick ? 64 : 256;
    const batch = ctx.quick ? 4 : 16;
    const cases: { target: QuantTarget; k: number; out: number }[] = [
      { target: 'int8', k: 256, out: 0 },
      { target: 'int4', k: 768, out: 0 },
      { target: 'w4a4', k: 256, out: 1536 },
      { target: 'w4a4', k: 768, out: 256 },
    ];
    const records: BenchRecord[] = [];
    for (const c of cases) {
      const rng = new Rng(c.k * 7 + c.out);
      const x = { rows: T, cols: c.k, data: rng.normals(T * c.k) };
      for (let i = 0; i < 4; i++) {
        const ch = rng.int(c.k);
        for (let t = 0; t < T; t++) x.data[t * c.k + ch]! *= 20;
      }
      const w = c.out > 0 ? { rows: c.out, cols: c.k, data: rng.normals(c.out * c.k, 0, 0.05) } : null;
      const ev = new CpuErrorEvaluator(x, w, c.target);
      const ops = defaultOperatorOptions(c.k);
      const specs = Array.from({ length: batch }, () =>
        compileRotation(toRotationSpec(randomGenome(c.k, rng, ops))),
      );
      const bytesPer = 4 * 4 * T * c.k + (w ? 4 * 4 * c.out * c.k + 4 * T * c.out : 0);
      const rec = await measure(
        'es-search',
        {
          op: `evaluate-${c.target}`,
          backend: 'cpu',
          n: c.k,
          shape: `tokens=${T}${w ? ` out=${c.out}` : ''} batch=${batch}`,
          bytes: bytesPer * batch,
          ...(w ? { flops: 2 * T * c.k * c.out * batch } : {}),
          time: ctx.quick ? 200 : 2000,
          iterations: ctx.quick ? 2 : 5,
          fn: () => ev.errors(specs),
        },
        ctx.machine,
      );
      rec.evaluations_per_s = batch / (rec.median_ms / 1000);
      ctx.log(
        `es-search ${c.target} k=${c.k}: ${(rec.evaluations_per_s as number).toFixed(1)} candidate evaluations/s`,
      );
      const base = ctx.baselines.get('triad-1t');
      records.push(base ? withBaseline(rec, 'triad-1t', base) : rec);
    }
    return records;
  },
};

export default suite;
