/** How far the top-64 + remainder reference under-estimates KLD vs the full vocabulary (README, "Reference cache"). tsx --conditions=source scripts/topk-bias.ts */
import { evaluate } from '../src/index.js';

const base = {
  model: '../shared/models/nq-docs-5M/nq-docs-5M.bin',
  windows: 8,
  select: 'spread' as const,
  cache: false as const,
};
for (const text of ['../shared/data/docs-valid.txt', '../shared/data/wikitext2-test.txt'])
  for (const recipe of ['w4a4-rtn-token', 'had-w4a4', 'w8a8-rtn']) {
    const out: string[] = [];
    for (const refStorage of [{ kind: 'full' as const }, { kind: 'topk' as const, k: 64 }]) {
      const r = await evaluate({ ...base, text, recipe, refStorage });
      out.push(`${r.kld_method}: ${r.kld_mean.toFixed(6)} p99 ${r.kld_p99.toFixed(5)}`);
    }
    console.log(text.split('/').pop(), recipe, out.join(' | '));
  }
