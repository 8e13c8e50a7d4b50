import fs from 'node:fs';
import path from 'node:path';
import { type BenchRecord, measure, withBaseline } from '@nq/core/bench';
// Relative import until benchmarks/package.json lists "@nq/eval-ppl": "workspace:*" (a root-owned file).
import { prepareWindowBench } from '../../../packages/eval-ppl/src/index.js';
import type { Suite } from '../suite.js';

/**
 * Evaluated tokens per second on CPU for `fp` and `had-w4a4` on nq-docs-5M. One pass = one window of
 * docs-valid through the recipe (weights prepared once; hooks rotate/quantize activations online)
 * + float64 log-softmax + KL against a full-vocabulary reference for every scored position — the
 * per-window work of `evaluate()` once the reference is cached. `bytes` = block + classifier weights
 * each window streams once, so ratio = that GB/s ÷ the same run's 1-thread triad GB/s.
 */
const suite: Suite = {
  name: 'eval',
  description: 'eval-ppl: evaluated tokens/s (forward + KL scoring) for fp and had-w4a4 on nq-docs-5M, CPU',
  async run(ctx) {
    if (ctx.backend && ctx.backend !== 'cpu') return [];
    const dir = path.resolve(import.meta.dirname, '../../../../shared/models/nq-docs-5M');
    const modelFile = path.join(dir, 'nq-docs-5M.bin');
    const text = path.resolve(dir, '../../data/docs-valid.txt');
    if (!fs.existsSync(modelFile) || !fs.existsSync(text)) {
      ctx.log('eval: ../shared/models/nq-docs-5M missing, suite skipped');
      return [];
    }
    // Token ids straight from the shared reference encoding (uint16 .npy: 128-byte-aligned header).
    const npy = fs.readFileSync(path.join(dir, 'tok4096.docs-valid.ids.npy'));
    const headerLen = npy.readUInt16LE(8);
    const T = ctx.quick ? 64 : 256;
    const ids = Array.from({ length: T }, (_, i) => npy.readUInt16LE(10 + headerLen + 2 * i));
    const records: BenchRecord[] = [];
    for (const recipe of ['fp', 'had-w4a4']) {
      const b = await prepareWindowBench(modelFile, ids, recipe, 0);
      const rec = await measure(
        'eval',
        {
          op: `eval-${recipe}`,
          backend: 'cpu',
          n: T,
          shape: `window=${T}`,
          bytes: b.weightBytes,
          flops: b.flops,
          time: ctx.quick ? 200 : 3000,
          iterations: ctx.quick ? 2 : 5,
          fn: b.run,
        },
        ctx.machine,
      );
      rec.tokens_per_s = T / (rec.median_ms / 1000);
      ctx.log(`eval ${recipe}: ${(rec.tokens_per_s as number).toFixed(0)} evaluated tokens/s`);
      const base = ctx.baselines.get('triad-1t');
      records.push(base ? withBaseline(rec, 'triad-1t', base) : rec);
    }
    return records;
  },
};

export default suite;
