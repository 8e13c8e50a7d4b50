import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BenchRecord } from '@nq/core/bench';
// Relative import until benchmarks/package.json lists "@nq/model": "workspace:*" (a root-owned file).
import {
  createGemmPool,
  createKvCache,
  forward,
  type GemmPool,
  gemmABt,
  type LoadedModel,
  loadModel,
  type ModelConfig,
} from '../../../packages/model/src/index.js';
import { measureCases, type SuiteCase } from '../cases.js';
import { prefillFlops } from '../model-flops.js';
import type { Suite, SuiteContext } from '../suite.js';

/**
 * @nq/model prefill throughput on nq-docs-5M (context 256; 64 with --quick), CPU:
 *  - nq prefill, logits at every position (what perplexity needs): JS kernel, SIMD 1 thread, SIMD 2 threads;
 *  - nq prefill, last-position logits only (what llama.cpp's prompt evaluation computes);
 *  - nq's own plain single-token loop (KV cache, one forward per token) — the baseline of `ratio`;
 *  - node-llama-cpp (llama.cpp) on the shipped F32 GGUF, 1 and 2 threads, when it can be imported:
 *    it is an optional benchmark dependency (prebuilt binaries from npm, nothing downloaded at run
 *    time). Until benchmarks/package.json lists it, point NQ_NODE_LLAMA_CPP at an installed
 *    node-llama-cpp folder (e.g. /tmp/nlc/node_modules/node-llama-cpp).
 * Every record carries tokens_per_s; ratio = tokens/s ÷ the single-token loop's tokens/s, same run.
 */
const SHARED = path.resolve(import.meta.dirname, '../../../../shared/models/nq-docs-5M');

interface NodeLlamaCpp {
  getLlama(o: object): Promise<{
    loadModel(o: object): Promise<{
      createContext(o: object): Promise<{
        getSequence(): {
          clearHistory(): Promise<void>;
          evaluateWithoutGeneratingNewTokens(t: number[]): Promise<void>;
        };
        dispose(): Promise<void>;
      }>;
      dispose(): Promise<void>;
    }>;
    dispose(): Promise<void>;
  }>;
}

async function importNodeLlamaCpp(log: (m: string) => void): Promise<NodeLlamaCpp | null> {
  const dir = process.env.NQ_NODE_LLAMA_CPP;
  try {
    if (dir) return (await import(pathToFileURL(path.join(dir, 'dist/index.js')).href)) as NodeLlamaCpp;
    const name = 'node-llama-cpp';
    return (await import(name)) as NodeLlamaCpp;
  } catch (e) {
    log(
      `  model: node-llama-cpp not available (${(e as Error).message.split('\n')[0]}); skipping the llama.cpp comparison`,
    );
    return null;
  }
}

function tokensPerSecond(rec: BenchRecord, T: number): number {
  return (T / rec.median_ms) * 1000;
}

const suite: Suite = {
  name: 'model',
  description:
    'LLaMA prefill tokens/s on nq-docs-5M (CPU 1/2 threads, SIMD vs JS, vs single-token loop and node-llama-cpp)',
  async run(ctx: SuiteContext): Promise<BenchRecord[]> {
    const bin = path.join(SHARED, 'nq-docs-5M.bin');
    if (!fs.existsSync(bin)) {
      ctx.log(`  model: ${bin} not found; the model suite needs ../shared (skipped)`);
      return [];
    }
    if (ctx.backend && ctx.backend !== 'cpu') return [];
    const model: LoadedModel = await loadModel(bin);
    const c = model.config;
    const T = ctx.quick ? 64 : 256;
    const tokens = Array.from({ length: T }, (_, i) => (1 + i * 37) % c.vocabSize);
    const time = ctx.quick ? 200 : 1000;
    const iterations = ctx.quick ? 3 : 6;
    const shape = `T=${T} ${c.dim}d${c.nLayers}l vocab ${c.vocabSize}`;
    const base = { backend: 'cpu', n: T, shape, time, iterations, metric: 'gflops' as const };

    // 1. The plain single-token loop: the baseline every other ratio is taken against.
    const cache = createKvCache(c, T);
    const loop: SuiteCase = {
      ...base,
      op: 'single-token-loop',
      flops: prefillFlops(c, T, T),
      fn: () => {
        cache.length = 0;
        for (const id of tokens) forward(model, [id], { cache, lastOnly: true });
      },
    };
    const [loopRec] = await measureCases('model', ctx, [loop]);
    const records: BenchRecord[] = [];
    const loopTps = loopRec && loopRec.median_ms > 0 ? tokensPerSecond(loopRec, T) : Number.NaN;
    const finish = (recs: BenchRecord[]) => {
      for (const r of recs) {
        const tps = tokensPerSecond(r, T);
        records.push({ ...r, tokens_per_s: tps, baseline: 'single-token-loop', ratio: tps / loopTps });
      }
    };
    if (loopRec) finish([loopRec]);

    // 2. nq prefill: JS kernel, SIMD on 1 thread, SIMD on 2 threads; all logits and last only.
    let pool: GemmPool | null = null;
    const cases: SuiteCase[] = [
      {
        ...base,
        op: 'prefill-all-logits js-kernel 1t',
        flops: prefillFlops(c, T, T),
        fn: () => forward(model, tokens, { gemm: gemmABt }),
      },
      {
        ...base,
        op: 'prefill-all-logits simd 1t',
        flops: prefillFlops(c, T, T),
        fn: () => forward(model, tokens),
      },
      {
        ...base,
        op: 'prefill-all-logits simd 2t',
        flops: prefillFlops(c, T, T),
        setup: async () => {
          pool ??= await createGemmPool({ threads: 2 });
        },
        fn: () => forward(model, tokens, { gemm: pool!.gemm }),
      },
      {
        ...base,
        op: 'prefill-last-logits simd 1t',
        flops: prefillFlops(c, T, 1),
        fn: () => forward(model, tokens, { lastOnly: true }),
      },
      {
        ...base,
        op: 'prefill-last-logits simd 2t',
        flops: prefillFlops(c, T, 1),
        setup: async () => {
          pool ??= await createGemmPool({ threads: 2 });
        },
        fn: () => forward(model, tokens, { gemm: pool!.gemm, lastOnly: true }),
        teardown: async () => {
          await pool?.close();
          pool = null;
        },
      },
    ];
    finish(await measureCases('model', ctx, cases));

    // 3. node-llama-cpp on the F32 GGUF (prompt evaluation = last-position logits).
    const gguf = path.join(SHARED, 'nq-docs-5M.f32.gguf');
    const nlc = fs.existsSync(gguf) ? await importNodeLlamaCpp(ctx.log) : null;
    if (nlc) {
      const llama = await nlc.getLlama({ gpu: false, build: 'never', logLevel: 'error', maxThreads: 0 });
      const lm = await llama.loadModel({ modelPath: gguf, gpuLayers: 0 });
      try {
        for (const threads of [1, 2]) {
          const lctx = await lm.createContext({ contextSize: T, batchSize: T, threads, sequences: 1 });
          const seq = lctx.getSequence();
          finish(
            await measureCases('model', ctx, [
              {
                ...base,
                op: `node-llama-cpp prefill ${threads}t`,
                flops: prefillFlops(c, T, 1),
                fn: async () => {
                  await seq.clearHistory();
                  await seq.evaluateWithoutGeneratingNewTokens(tokens);
                },
                teardown: () => lctx.dispose(),
              },
            ]),
          );
        }
      } finally {
        await lm.dispose();
        await llama.dispose();
      }
    }
    return records;
  },
};

export default suite;
