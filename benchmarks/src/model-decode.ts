import type { BenchRecord } from '@nq/core/bench';
import { createKvCache, forward, type GemmPool, type LoadedModel, releaseKvCache } from '@nq/model';
import { measureCases, type SuiteCase } from './cases.js';
import type { LlamaModel } from './node-llama-cpp.js';
import type { SuiteContext } from './suite.js';

/**
 * Greedy decoding after a prompt, nq against node-llama-cpp in the same run: P prompt tokens are
 * put into the KV cache once; each measured pass rewinds the cache to P and generates D tokens one
 * forward pass at a time (nq: `forward([token], { cache, lastOnly })` + argmax; llama.cpp: its
 * `evaluate` generator at temperature 0, the generated tokens erased before the next pass).
 * Decode reads every weight once per token, so the records carry bytes = D × the weights' bytes (the
 * GB/s column is the weight stream) and tokens_per_s; ratio = nq ÷ llama.cpp tokens/s, same threads.
 */
export async function decodeRecords(
  ctx: SuiteContext,
  model: LoadedModel,
  lm: LlamaModel | null,
  threadCounts: number[],
  gemmFor: (threads: number) => GemmPool['gemm'] | undefined,
): Promise<BenchRecord[]> {
  const c = model.config;
  const P = ctx.quick ? 32 : 128;
  const D = ctx.quick ? 16 : 64;
  const prompt = Array.from({ length: P }, (_, i) => (3 + i * 53) % c.vocabSize);
  const first = prompt[P - 1]!;
  const w = model.weights;
  const weightFloats =
    w.output.data.length +
    w.layers.reduce(
      (s, L) => s + [L.q, L.k, L.v, L.o, L.gate, L.up, L.down].reduce((t, m) => t + m.data.length, 0),
      0,
    );
  const base = {
    backend: 'cpu',
    n: D,
    bytes: D * weightFloats * 4,
    metric: 'gbps' as const,
    time: ctx.quick ? 200 : 1000,
    iterations: ctx.quick ? 3 : 6,
  };
  const shape = (threads: number) => `prompt ${P} + ${D} tokens threads=${threads}`;
  const tps = (r: BenchRecord) => (D / r.median_ms) * 1000;
  const records: BenchRecord[] = [];

  const llamaTps = new Map<number, number>();
  if (lm) {
    for (const threads of threadCounts) {
      const lctx = await lm.createContext({ contextSize: P + D + 8, batchSize: P, threads, sequences: 1 });
      const seq = lctx.getSequence();
      await seq.evaluateWithoutGeneratingNewTokens(prompt.slice(0, -1));
      const [rec] = await measureCases('model', ctx, [
        {
          ...base,
          op: 'node-llama-cpp decode',
          shape: shape(threads),
          fn: async () => {
            if (seq.nextTokenIndex > P - 1)
              await seq.eraseContextTokenRanges([{ start: P - 1, end: seq.nextTokenIndex }]);
            let n = 0;
            for await (const _ of seq.evaluate([first], { temperature: 0 })) if (++n >= D) break;
          },
          teardown: () => lctx.dispose(),
        },
      ]);
      if (rec && rec.median_ms > 0) {
        llamaTps.set(threads, tps(rec));
        records.push({ ...rec, tokens_per_s: tps(rec), baseline: undefined, ratio: undefined });
      } else if (rec) records.push(rec);
    }
  }

  for (const threads of threadCounts) {
    const gemm = gemmFor(threads);
    if (threads > 1 && !gemm) continue;
    const cache = createKvCache(c, P + D + 8, gemm ? { gemm } : {});
    forward(model, prompt.slice(0, -1), { gemm, cache, noLogits: true });
    const decode: SuiteCase = {
      ...base,
      op: 'nq decode',
      shape: shape(threads),
      fn: () => {
        cache.length = P - 1;
        let token = first;
        for (let i = 0; i < D; i++) {
          const logits = forward(model, [token], { gemm, cache, lastOnly: true }).data;
          let best = 0;
          for (let j = 1; j < logits.length; j++) if (logits[j]! > logits[best]!) best = j;
          token = best;
        }
      },
    };
    const [rec] = await measureCases('model', ctx, [decode]);
    releaseKvCache(cache);
    if (!rec) continue;
    const ref = llamaTps.get(threads);
    records.push(
      rec.median_ms > 0
        ? {
            ...rec,
            tokens_per_s: tps(rec),
            baseline: ref !== undefined ? `node-llama-cpp decode ${threads}t` : undefined,
            ratio: ref !== undefined ? tps(rec) / ref : undefined,
          }
        : rec,
    );
  }
  return records;
}
