import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Rng } from '@nq/core';
import type { BenchRecord } from '@nq/core/bench';
import {
  createGemmPool,
  createKvCache,
  forward,
  type GemmPool,
  gemmABt,
  type LoadedModel,
  loadModel,
  releaseKvCache,
} from '@nq/model';
import { residentWeights } from '@nq/model/cpu';
import { measureCases, type SuiteCase } from '../cases.js';
import { decodeRecords } from '../model-decode.js';
import { prefillFlops } from '../model-flops.js';
import { importNodeLlamaCpp, type LlamaSequenceInput, openLlamaModel } from '../node-llama-cpp.js';
import type { Suite, SuiteContext } from '../suite.js';

/**
 * @nq/model CPU prefill, nq against llama.cpp in the same run, on 1 thread and on all threads:
 *  0. a self-check of the all-thread GEMM worker pool (500 small random GEMMs, every result compared
 *     with the JS kernel, 20 s watchdog): record `pool-selfcheck` with ok true/false, so a pool that
 *     would hang on this host shows up as a failed record instead;
 *  1. node-llama-cpp (llama.cpp) prompt evaluation of nq-docs-5M's F32 GGUF (context 256; 64 with
 *     --quick), when importable: an optional benchmark dependency (prebuilt binaries from npm),
 *     found as `node-llama-cpp` or through NQ_NODE_LLAMA_CPP=<folder of an installed node-llama-cpp>.
 *     Two rows per thread count: `prefill-no-logits` (evaluateWithoutGeneratingNewTokens: llama.cpp
 *     requests no output, so it only fills the KV cache) and `prefill-last-logits` (controlledEvaluate
 *     with the last token's logits requested: prompt evaluation before generating);
 *  2. nq prefill of nq-docs-5M, SIMD GEMM on 1 and all threads, with the same three kinds of output:
 *     no logits (KV cache only, `noLogits`), the last position's logits (`lastOnly`) — each against the
 *     llama.cpp row doing the same work — and logits at every position (what perplexity needs; more
 *     work than either llama.cpp row, compared with last-logits). ratio = nq tokens/s ÷ llama.cpp
 *     tokens/s at the same thread count (baseline 'node-llama-cpp <op> <n>t'); without node-llama-cpp
 *     the ratio is against nq's own single-token loop (KV cache, one forward per token);
 *  2b. greedy decoding of 64 tokens after a 128-token prompt (KV cache), nq against node-llama-cpp
 *     (model-decode.ts): tokens/s and the weight stream in GB/s;
 *  3. 7B-class GEMMs, Y[256, N] = X[256, 4096]·Wᵀ for W 4096×4096 (q/o) and 11008×4096 (gate/up) and
 *     4096×11008 (down), 1 and all threads: GFLOP/s (no llama.cpp counterpart; ratio against nq's
 *     1-thread figure for the all-thread rows).
 * nq's pools keep the model's weights resident in the kernel's memory (`pool.keepResident`), as llama.cpp keeps
 * its tensors loaded. Every prefill record carries tokens_per_s and gflops. Threads: os.availableParallelism(), at most 32
 * (NQ_BENCH_THREADS overrides). ../shared is found beside the repository or through NQ_SHARED.
 */
const SHARED_ROOT = process.env.NQ_SHARED ?? path.resolve(import.meta.dirname, '../../../../shared');
const MODEL_DIR = path.join(SHARED_ROOT, 'models/nq-docs-5M');

function allThreads(): number {
  const env = Number(process.env.NQ_BENCH_THREADS);
  if (Number.isInteger(env) && env >= 1) return env;
  return Math.max(1, Math.min(32, os.availableParallelism?.() ?? os.cpus().length));
}

/** 500 small random GEMMs (many with fewer output columns than threads) on the pool, each checked. */
function poolSelfCheck(pool: GemmPool, seed: number): { calls: number; worst: number } {
  const rng = new Rng(seed);
  const pick = (lo: number, hi: number) => lo + Math.floor(rng.uniform() * (hi - lo + 1));
  let worst = 0;
  const calls = 500;
  for (let i = 0; i < calls; i++) {
    const T = pick(4, 24);
    const K = 4 * pick(1, 32);
    const N = rng.uniform() < 0.5 ? pick(1, pool.threads * 4) : pick(1, 400);
    const x = rng.normals(T * K);
    const w = rng.normals(N * K);
    const y = new Float32Array(T * N);
    const ref = new Float32Array(T * N);
    pool.gemm(x, T, K, w, N, y);
    gemmABt(x, T, K, w, N, ref);
    let num = 0;
    let den = 0;
    for (let j = 0; j < ref.length; j++) {
      num = Math.max(num, Math.abs(y[j]! - ref[j]!));
      den = Math.max(den, Math.abs(ref[j]!));
    }
    const e = num / (den || 1);
    if (!(e <= 1e-5)) throw new Error(`pool self-check: call ${i} (T=${T} K=${K} N=${N}) max rel error ${e}`);
    worst = Math.max(worst, e);
  }
  return { calls, worst };
}

const suite: Suite = {
  name: 'model',
  description:
    'LLaMA prefill on CPU, 1 and all threads: nq vs node-llama-cpp on nq-docs-5M (tokens/s, GFLOP/s), 7B-shaped GEMMs, pool self-check',
  async run(ctx: SuiteContext): Promise<BenchRecord[]> {
    if (ctx.backend && ctx.backend !== 'cpu') return [];
    const records: BenchRecord[] = [];
    const N = allThreads();
    const threadCounts = N > 1 ? [1, N] : [1];
    const pools = new Map<number, GemmPool>();
    const gemmFor = (threads: number) => pools.get(threads)?.gemm;
    const keepFor = (threads: number) => pools.get(threads)?.keepResident;

    try {
      // 0. Pool start-up and self-check: fails loudly (NqBackendError) instead of hanging.
      for (const threads of threadCounts) {
        const t0 = performance.now();
        try {
          // The self-check pool splits every call (minWork 0), so every worker takes part in all 500.
          const check = await createGemmPool({ threads, minWork: 0, watchdogMs: 20_000, startupMs: 30_000 });
          const startMs = performance.now() - t0;
          const t1 = performance.now();
          let calls: number;
          let worst: number;
          let diagnostics: string;
          try {
            ({ calls, worst } = poolSelfCheck(check, 11));
          } finally {
            diagnostics = check.diagnostics();
            await check.close();
          }
          const ms = performance.now() - t1;
          pools.set(threads, await createGemmPool({ threads, watchdogMs: 20_000, startupMs: 30_000 }));
          ctx.log(
            `  model: pool of ${threads} threads up in ${startMs.toFixed(0)} ms; self-check ${calls} GEMMs in ${ms.toFixed(0)} ms, worst rel err ${worst.toExponential(1)}`,
          );
          records.push({
            suite: 'model',
            op: 'pool-selfcheck',
            backend: 'cpu',
            n: calls,
            shape: `threads=${threads}`,
            median_ms: ms / calls,
            p75_ms: Number.NaN,
            p99_ms: Number.NaN,
            samples: calls,
            machine: ctx.machine,
            ok: true,
            startup_ms: startMs,
            worst_rel_err: worst,
            diagnostics,
          });
        } catch (e) {
          ctx.log(`  model: pool of ${threads} threads FAILED: ${(e as Error).message}`);
          records.push({
            suite: 'model',
            op: 'pool-selfcheck',
            backend: 'cpu',
            n: 0,
            shape: `threads=${threads}`,
            median_ms: Number.NaN,
            p75_ms: Number.NaN,
            p99_ms: Number.NaN,
            samples: 0,
            machine: ctx.machine,
            ok: false,
            error: (e as Error).message,
          });
          await pools.get(threads)?.close();
          pools.delete(threads);
        }
      }

      // nq reads the llama2.c file, or the F32 GGUF (same weights) where only that was shipped.
      const file = ['nq-docs-5M.bin', 'nq-docs-5M.f32.gguf']
        .map((f) => path.join(MODEL_DIR, f))
        .find((f) => fs.existsSync(f));
      if (file) records.push(...(await docsModel(ctx, file, threadCounts, gemmFor, keepFor)));
      else
        ctx.log(
          `  model: nq-docs-5M not found in ${MODEL_DIR}; set NQ_SHARED or put ../shared beside the repository (skipped)`,
        );
      records.push(...(await gemm7b(ctx, threadCounts, gemmFor, keepFor)));
    } finally {
      for (const p of pools.values()) await p.close();
    }
    return records;
  },
};

/** Sections 1 and 2: node-llama-cpp then nq on nq-docs-5M. */
async function docsModel(
  ctx: SuiteContext,
  bin: string,
  threadCounts: number[],
  gemmFor: (threads: number) => GemmPool['gemm'] | undefined,
  keepFor: (threads: number) => GemmPool['keepResident'] | undefined,
): Promise<BenchRecord[]> {
  const records: BenchRecord[] = [];
  const model: LoadedModel = await loadModel(bin);
  for (const threads of threadCounts) keepFor(threads)?.(residentWeights(model));
  const c = model.config;
  const T = ctx.quick ? 64 : 256;
  const tokens = Array.from({ length: T }, (_, i) => (1 + i * 37) % c.vocabSize);
  const time = ctx.quick ? 200 : 1000;
  const iterations = ctx.quick ? 3 : 6;
  const shape = (threads: number) => `T=${T} ${c.dim}d${c.nLayers}l vocab ${c.vocabSize} threads=${threads}`;
  const base = { backend: 'cpu', n: T, time, iterations, metric: 'gflops' as const };
  const tps = (r: BenchRecord) => (T / r.median_ms) * 1000;

  // 1. llama.cpp first, so that nq's records can carry the ratio.
  const llamaTps = new Map<string, number>(); // `${output} ${threads}` → tokens/s
  const gguf = path.join(MODEL_DIR, 'nq-docs-5M.f32.gguf');
  const nlc = fs.existsSync(gguf) ? await importNodeLlamaCpp(ctx.log) : null;
  // Loaded once for the prefill rows here and the decode rows (model-decode.ts), closed at the end.
  const llama = nlc ? await openLlamaModel(nlc, gguf) : null;
  try {
    if (llama) {
      const lm = llama.model;
      for (const threads of threadCounts) {
        const lctx = await lm.createContext({ contextSize: T, batchSize: T, threads, sequences: 1 });
        const seq = lctx.getSequence();
        const lastRequested: LlamaSequenceInput = [
          ...tokens.slice(0, -1),
          [tokens[T - 1]!, { generateNext: { logits: true } }],
        ];
        const recs = await measureCases('model', ctx, [
          {
            ...base,
            op: 'node-llama-cpp prefill-no-logits',
            shape: shape(threads),
            flops: prefillFlops(c, T, 'none'),
            fn: async () => {
              await seq.clearHistory();
              await seq.evaluateWithoutGeneratingNewTokens(tokens);
            },
          },
          {
            ...base,
            op: 'node-llama-cpp prefill-last-logits',
            shape: shape(threads),
            flops: prefillFlops(c, T, 'last'),
            fn: async () => {
              await seq.clearHistory();
              await seq.controlledEvaluate(lastRequested);
            },
          },
        ]);
        await lctx.dispose();
        for (const rec of recs) {
          if (!(rec.median_ms > 0)) continue;
          llamaTps.set(`${rec.op.replace('node-llama-cpp ', '')} ${threads}`, tps(rec));
          records.push({ ...rec, tokens_per_s: tps(rec), baseline: undefined, ratio: undefined });
        }
      }
    }

    // nq's own single-token loop: the baseline when llama.cpp is absent.
    let loopTps = Number.NaN;
    if (llamaTps.size === 0) {
      const cache = createKvCache(c, T);
      const [loopRec] = await measureCases('model', ctx, [
        {
          ...base,
          iterations: 2,
          time: 100,
          op: 'single-token-loop',
          shape: shape(1),
          flops: prefillFlops(c, T, 'all'),
          fn: () => {
            cache.length = 0;
            for (const id of tokens) forward(model, [id], { cache, lastOnly: true });
          },
        },
      ]);
      if (loopRec && loopRec.median_ms > 0) {
        loopTps = tps(loopRec);
        records.push({ ...loopRec, tokens_per_s: loopTps, baseline: undefined, ratio: undefined });
      }
    }

    // 2. nq prefill, SIMD GEMM, 1 and all threads: no logits, last logits, all logits.
    for (const threads of threadCounts) {
      const gemm = gemmFor(threads);
      if (threads > 1 && !gemm) continue; // the pool failed its self-check (recorded above)
      // The cache lives in this pool's kernel memory, as llama.cpp's lives in its own buffers.
      const cache = createKvCache(c, T, gemm ? { gemm } : {});
      const cases: (SuiteCase & { against: string })[] = [
        {
          ...base,
          op: 'nq prefill-no-logits',
          against: 'prefill-no-logits',
          shape: shape(threads),
          flops: prefillFlops(c, T, 'none'),
          fn: () => {
            cache.length = 0;
            forward(model, tokens, { gemm, cache, noLogits: true });
          },
        },
        {
          ...base,
          op: 'nq prefill-last-logits',
          against: 'prefill-last-logits',
          shape: shape(threads),
          flops: prefillFlops(c, T, 'last'),
          fn: () => forward(model, tokens, { gemm, lastOnly: true }),
        },
        {
          ...base,
          op: 'nq prefill-all-logits',
          against: 'prefill-last-logits',
          shape: shape(threads),
          flops: prefillFlops(c, T, 'all'),
          fn: () => forward(model, tokens, { gemm }),
        },
      ];
      const recs = await measureCases('model', ctx, cases);
      recs.forEach((rec, i) => {
        if (!(rec.median_ms > 0)) {
          records.push(rec);
          return;
        }
        const mine = tps(rec);
        const against = cases[i]!.against;
        const llamaRef = llamaTps.get(`${against} ${threads}`);
        records.push(
          llamaRef !== undefined
            ? {
                ...rec,
                tokens_per_s: mine,
                baseline: `node-llama-cpp ${against} ${threads}t`,
                ratio: mine / llamaRef,
              }
            : { ...rec, tokens_per_s: mine, baseline: 'single-token-loop', ratio: mine / loopTps },
        );
      });
      releaseKvCache(cache);
    }
    // Decoding after a prompt, nq against llama.cpp (model-decode.ts).
    records.push(...(await decodeRecords(ctx, model, llama?.model ?? null, threadCounts, gemmFor)));
  } finally {
    await llama?.close();
  }
  return records;
}

/** Section 3: 7B-class GEMM shapes (LLaMA-2-7B: dim 4096, SwiGLU 11008) at 256 tokens. */
async function gemm7b(
  ctx: SuiteContext,
  threadCounts: number[],
  gemmFor: (threads: number) => GemmPool['gemm'] | undefined,
  keepFor: (threads: number) => GemmPool['keepResident'] | undefined,
): Promise<BenchRecord[]> {
  const records: BenchRecord[] = [];
  const dim = ctx.quick ? 1024 : 4096;
  const hidden = ctx.quick ? 2752 : 11008;
  const T = ctx.quick ? 64 : 256;
  const shapes: [string, number, number][] = [
    ['q/o', dim, dim],
    ['gate/up', dim, hidden],
    ['down', hidden, dim],
  ];
  // Deterministic, cheap fill (the values do not change the speed): a seeded generator per buffer.
  const fill = (n: number, seed: number) => {
    const rng = new Rng(seed);
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = rng.uniform() - 0.5;
    return a;
  };
  const x = fill(T * Math.max(dim, hidden), 1);
  const y = new Float32Array(T * Math.max(dim, hidden));
  const oneThread = new Map<string, number>();
  for (const [label, K, Nout] of shapes) {
    const w = fill(Nout * K, 2);
    for (const threads of threadCounts) keepFor(threads)?.([w]);
    for (const threads of threadCounts) {
      const gemm = gemmFor(threads);
      if (!gemm) continue;
      const [rec] = await measureCases('model', ctx, [
        {
          backend: 'cpu',
          op: `gemm-7b ${label}`,
          n: T,
          shape: `Y[${T},${Nout}] = X[${T},${K}]·W[${Nout},${K}]ᵀ threads=${threads}`,
          flops: 2 * T * K * Nout,
          metric: 'gflops',
          time: ctx.quick ? 100 : 300,
          iterations: 3,
          fn: () => gemm(x, T, K, w, Nout, y),
        },
      ]);
      if (!rec) continue;
      if (threads === 1 && rec.gflops) oneThread.set(label, rec.gflops);
      const one = oneThread.get(label);
      records.push(
        threads > 1 && one && rec.gflops
          ? { ...rec, baseline: 'nq 1t', ratio: rec.gflops / one }
          : { ...rec, baseline: undefined, ratio: undefined },
      );
    }
  }
  return records;
}

export default suite;
