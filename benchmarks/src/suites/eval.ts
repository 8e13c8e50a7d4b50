import fs from 'node:fs';
import path from 'node:path';
import { type BenchRecord, measure, withBaseline } from '@nq/core/bench';
import { prepareWindowBench } from '@nq/eval-ppl';
import { prepareWindowsBenchWebGPU } from '@nq/eval-ppl/webgpu';
import type { Suite, SuiteContext } from '../suite.js';

/**
 * Evaluated tokens per second for `fp` and `had-w4a4` (a rotated W4A4 recipe) on nq-docs-5M.
 * - cpu: one pass = one window of docs-valid through the recipe (weights prepared once; hooks rotate
 *   and quantize activations online) + float64 log-softmax + KL against a full-vocabulary reference
 *   for every scored position — the per-window work of `evaluate()` once the reference is cached.
 *   `bytes` = block + classifier weights each window streams once, so ratio = that GB/s ÷ the same
 *   run's 1-thread triad GB/s.
 * - webgpu: one pass = W windows through evaluate({ backend: 'webgpu' })'s path (uploaded recipe
 *   model, GPU hooks, logits read back and scored on the CPU, next window in flight meanwhile);
 *   records carry windows_per_s and tokens_per_s, ratio = webgpu tokens/s ÷ the CPU row's tokens/s
 *   of the same recipe in this run (baseline 'cpu-eval').
 * With --backend webgpu both run (the CPU rows are the ratio's baseline); --backend cpu only CPU.
 * ../shared is found beside the repository or through NQ_SHARED.
 */
const SHARED_ROOT = process.env.NQ_SHARED ?? path.resolve(import.meta.dirname, '../../../../shared');
const RECIPES = ['fp', 'had-w4a4'];

const suite: Suite = {
  name: 'eval',
  description:
    'eval-ppl: evaluated tokens/s (forward + KL scoring) for fp and had-w4a4 on nq-docs-5M, CPU and WebGPU',
  async run(ctx: SuiteContext) {
    if (ctx.backend && ctx.backend !== 'cpu' && ctx.backend !== 'webgpu') return [];
    const dir = path.join(SHARED_ROOT, 'models/nq-docs-5M');
    const modelFile = path.join(dir, 'nq-docs-5M.bin');
    const idsFile = path.join(dir, 'tok4096.docs-valid.ids.npy');
    if (!fs.existsSync(modelFile) || !fs.existsSync(idsFile)) {
      ctx.log('eval: ../shared/models/nq-docs-5M missing (set NQ_SHARED), suite skipped');
      return [];
    }
    // Token ids straight from the shared reference encoding (uint16 .npy: 128-byte-aligned header).
    const npy = fs.readFileSync(idsFile);
    const headerLen = npy.readUInt16LE(8);
    const idAt = (i: number) => npy.readUInt16LE(10 + headerLen + 2 * i);
    const T = ctx.quick ? 64 : 256;
    const ids = Array.from({ length: T }, (_, i) => idAt(i));
    const records: BenchRecord[] = [];
    const cpuTokensPerS = new Map<string, number>();
    for (const recipe of RECIPES) {
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
      rec.windows_per_s = 1 / (rec.median_ms / 1000);
      cpuTokensPerS.set(recipe, rec.tokens_per_s as number);
      ctx.log(`eval cpu ${recipe}: ${(rec.tokens_per_s as number).toFixed(0)} evaluated tokens/s`);
      const base = ctx.baselines.get('triad-1t');
      records.push(base ? withBaseline(rec, 'triad-1t', base) : rec);
    }
    if (ctx.backend === 'webgpu') records.push(...(await webgpuRows(ctx, modelFile, idAt, cpuTokensPerS)));
    return records;
  },
};

async function webgpuRows(
  ctx: SuiteContext,
  modelFile: string,
  idAt: (i: number) => number,
  cpuTokensPerS: Map<string, number>,
): Promise<BenchRecord[]> {
  const T = ctx.quick ? 64 : 256;
  const W = ctx.quick ? 2 : 16;
  const ids = Array.from({ length: T * W }, (_, i) => idAt(i));
  const out: BenchRecord[] = [];
  for (const recipe of RECIPES) {
    try {
      const b = await prepareWindowsBenchWebGPU(modelFile, ids, T, recipe, 0);
      try {
        const rec = await measure(
          'eval',
          {
            op: `eval-${recipe}`,
            backend: 'webgpu',
            n: T,
            shape: `window=${T} windows=${W}`,
            time: ctx.quick ? 200 : 2000,
            iterations: ctx.quick ? 2 : 5,
            fn: b.run,
          },
          b.device,
        );
        const tps = b.tokens / (rec.median_ms / 1000);
        const cpu = cpuTokensPerS.get(recipe);
        out.push({
          ...rec,
          tokens_per_s: tps,
          windows_per_s: b.windows / (rec.median_ms / 1000),
          ...(cpu ? { baseline: 'cpu-eval', ratio: tps / cpu, cpu_tokens_per_s: cpu } : {}),
        });
        ctx.log(`eval webgpu ${recipe}: ${tps.toFixed(0)} evaluated tokens/s (${b.device})`);
      } finally {
        b.destroy();
      }
    } catch (e) {
      ctx.log(`eval webgpu ${recipe}: FAILED ${(e as Error).message}`);
      out.push({
        suite: 'eval',
        op: `eval-${recipe}`,
        backend: 'webgpu',
        n: T,
        median_ms: Number.NaN,
        p75_ms: Number.NaN,
        p99_ms: Number.NaN,
        samples: 0,
        machine: ctx.machine,
        error: String((e as Error).message),
      });
    }
  }
  return out;
}

export default suite;
