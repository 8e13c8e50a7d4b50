import fs from 'node:fs';
import path from 'node:path';
import { Rng } from '@nq/core';
import type { BenchRecord } from '@nq/core/bench';
// Relative imports until benchmarks/package.json lists "@nq/gptq" / "@nq/model" (a root-owned file).
import {
  gptqQuantize,
  type Hessian,
  HessianAccumulator,
  quantizeModelSequential,
  sampleCalibration,
} from '../../../packages/gptq/src/index.js';
import { createGemmPool, defaultWasmGemm } from '../../../packages/model/src/cpu/index.js';
import { loadModel } from '../../../packages/model/src/index.js';
import { errorRecord } from '../run.js';
import type { Suite, SuiteContext } from '../suite.js';

/**
 * @nq/gptq:
 *  - `hessian` — H += XᵀX of a calibration batch (n = 4096, 2048 tokens; quick: n = 512), float64
 *    (cpu) and float32-chunks + float64 sums (cpu-simd: @nq/model's wasm GEMM); GFLOP/s counts
 *    2·T·n² (full products). The time for 256k tokens is 128× the 2048-token figure (linear in tokens).
 *  - `gptq` — one 4096×4096 layer (quick: 512×512), INT4 g128 asym, act-order + static groups, block
 *    128, Hessian from 8192 correlated tokens (256k tokens would give the same solve time: GPTQ's cost
 *    does not depend on the token count), proxy loss off. Includes the two n³/3 Cholesky steps.
 *  - `webgpu hessian` / `webgpu gptq` — the same on the WebGPU backend (256k tokens for the Hessian in
 *    full mode, streamed in 64 MiB batches); on llvmpipe only the quick sizes are sensible.
 *  - `sequential nq-docs-5M` — the whole model, block by block, INT4 g128 GPTQ, 128 × 256 tokens of
 *    docs-calib (quick: 8 sequences); 2 GEMM threads.
 * Heavy cases run once (samples = 1, p75 = p99 = median); flops ratios vs 'triad-1t' are in GB/s
 * terms only for the hessian (bytes = X read once + S read and written once per 4 tokens).
 */
const shared = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../../shared');

async function once(
  suite: string,
  op: string,
  backend: string,
  n: number,
  shape: string,
  flops: number | undefined,
  machine: string,
  fn: () => unknown | Promise<unknown>,
): Promise<BenchRecord> {
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  return {
    suite,
    op,
    backend,
    n,
    shape,
    ...(flops ? { flops, gflops: flops / (ms * 1e6) } : {}),
    median_ms: ms,
    p75_ms: ms,
    p99_ms: ms,
    samples: 1,
    machine,
  };
}

function correlated(T: number, n: number, seed: number): Float32Array {
  const x = new Rng(seed).normals(T * n);
  for (let t = 0; t < T; t++)
    for (let j = 1; j < n; j++) x[t * n + j] = x[t * n + j]! + 0.6 * x[t * n + j - 1]!;
  return x;
}

const suite: Suite = {
  name: 'gptq',
  description: 'GPTQ: Hessian accumulation, one 4096×4096 layer, the nq-docs-5M sequential run (cpu, webgpu)',
  async run(ctx: SuiteContext): Promise<BenchRecord[]> {
    const out: BenchRecord[] = [];
    const want = (b: string) => !ctx.backend || ctx.backend === b;
    const n = ctx.quick ? 512 : 4096;
    const T = 2048;
    const push = (r: BenchRecord) => {
      out.push(r);
      ctx.log(
        `  gptq ${r.op} ${r.backend} ${r.shape}: ${r.median_ms.toFixed(0)} ms${r.gflops ? ` (${r.gflops.toFixed(2)} GFLOP/s)` : ''}`,
      );
    };
    const run = async (
      op: string,
      backend: string,
      nn: number,
      shape: string,
      flops: number | undefined,
      fn: () => unknown,
      machine = ctx.machine,
    ) => {
      try {
        push(await once('gptq', op, backend, nn, shape, flops, machine, fn));
      } catch (e) {
        ctx.log(`  gptq ${op} ${backend}: FAILED ${(e as Error)?.message ?? e}`);
        out.push({ ...errorRecord('gptq', backend, e, machine), op, n: nn, shape });
      }
    };
    const x = correlated(T, n, 1);
    if (want('cpu')) {
      await run('hessian f64', 'cpu', n, `n=${n} tokens=${T}`, 2 * T * n * n, () =>
        new HessianAccumulator(n).addRows(x, T),
      );
      const g = defaultWasmGemm()?.gemm;
      if (g)
        await run('hessian f32-chunks (wasm SIMD)', 'cpu', n, `n=${n} tokens=${T}`, 2 * T * n * n, () =>
          new HessianAccumulator(n, { gemm: g }).addRows(x, T),
        );
    }
    // the layer's Hessian: 2n correlated tokens (positive definite), built once with the SIMD path
    let h: Hessian | null = null;
    const hess = (): Hessian => {
      if (!h) {
        const Th = 2 * n;
        const g = defaultWasmGemm()?.gemm;
        const acc = new HessianAccumulator(n, g ? { gemm: g } : {});
        acc.addRows(correlated(Th, n, 2), Th);
        h = acc.finalize();
      }
      return h;
    };
    const w = { rows: n, cols: n, data: new Rng(3).normals(n * n) };
    const spec = {
      format: 'int' as const,
      bits: 4,
      granularity: 'group' as const,
      groupSize: 128,
      symmetric: false,
    };
    const opts = { scheme: spec, actOrder: true, staticGroups: true, blockSize: 128, proxyLoss: false };
    if (want('cpu')) {
      hess();
      await run('gptq int4 g128 act-order', 'cpu', n, `${n}x${n}`, undefined, () =>
        gptqQuantize(w, hess(), opts),
      );
    }
    if (want('webgpu')) {
      try {
        const wg = await import('../../../packages/gptq/src/webgpu/index.js');
        const { getWebGPUDevice } = await import('@nq/core/webgpu');
        const { adapterName } = await getWebGPUDevice();
        const Tg = ctx.quick ? T : 256 * 1024;
        await run(
          `hessian (${Tg} tokens)`,
          'webgpu',
          n,
          `n=${n} tokens=${Tg}`,
          2 * Tg * n * n,
          async () => {
            const acc = await wg.HessianAccumulatorWebGPU.create(n);
            // stream the same 2048-token batch Tg/T times (the kernel does not care which tokens)
            for (let t = 0; t < Tg; t += T) acc.add({ rows: T, cols: n, data: x });
            await acc.finalize();
            acc.destroy();
          },
          adapterName,
        );
        hess();
        await run(
          'gptq int4 g128 act-order',
          'webgpu',
          n,
          `${n}x${n}`,
          undefined,
          () => wg.gptqQuantizeWebGPU(w, hess(), opts),
          adapterName,
        );
      } catch (e) {
        ctx.log(`  gptq webgpu: skipped (${(e as Error)?.message ?? e})`);
      }
    }
    const modelPath = path.join(shared, 'models/nq-docs-5M/nq-docs-5M.bin');
    const calib = path.join(shared, 'data/docs-calib.txt');
    if (want('cpu') && fs.existsSync(modelPath) && fs.existsSync(calib)) {
      const model = await loadModel(modelPath);
      const seqs = await sampleCalibration({
        text: calib,
        tokenizer: path.join(shared, 'models/nq-docs-5M/tok4096.model'),
        sequences: ctx.quick ? 8 : 128,
        ctx: 256,
        seed: 0,
      });
      const pool = await createGemmPool({ threads: 2 });
      try {
        await run(
          'sequential nq-docs-5M int4 g128',
          'cpu',
          seqs.length * 256,
          `${seqs.length}x256 tokens, 2 GEMM threads`,
          undefined,
          () => quantizeModelSequential(model, { scheme: spec, calibration: seqs, gemm: pool.gemm }),
        );
      } finally {
        await pool.close();
      }
    } else if (want('cpu'))
      ctx.log('  gptq sequential: skipped (../shared/models/nq-docs-5M or docs-calib.txt missing)');
    return out;
  },
};

export default suite;
