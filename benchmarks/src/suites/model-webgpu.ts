import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchRecord } from '@nq/core/bench';
import { measure, withBaseline } from '@nq/core/bench';
import { getWebGPUDevice } from '@nq/core/webgpu';
import {
  createGemmPool,
  forward,
  type LoadedModel,
  loadModel,
  type ModelConfig,
  randomModel,
} from '@nq/model';
import { forwardWebGPU, uploadModel } from '@nq/model/webgpu';
import { prefillFlops } from '../model-flops.js';
import type { Suite, SuiteContext } from '../suite.js';

/**
 * Whole-sequence prefill (logits at every position) on WebGPU against nq's own multi-threaded CPU
 * prefill of the same model in the same run: nq-docs-5M at context 256, and a random model with
 * 7B-class layer widths (dim 4096, SwiGLU 11008, vocab 32000; 2 layers so that it fits any host) at
 * 512 tokens. Records carry GFLOP/s; ratio = webgpu GFLOP/s ÷ CPU GFLOP/s (baseline 'cpu-prefill').
 * Without --backend it runs both; with --backend cpu only the CPU rows.
 */
const SHARED = path.resolve(import.meta.dirname, '../../../../shared/models/nq-docs-5M');

const WIDE: ModelConfig = {
  dim: 4096,
  nLayers: 2,
  nHeads: 32,
  nKvHeads: 8,
  hiddenDim: 11008,
  vocabSize: 32000,
  seqLen: 512,
  normEps: 1e-5,
  ropeTheta: 10000,
};

const suite: Suite = {
  name: 'model-webgpu',
  description: 'prefill on WebGPU vs nq CPU prefill (all threads), nq-docs-5M and a 7B-width random model',
  async run(ctx: SuiteContext): Promise<BenchRecord[]> {
    const out: BenchRecord[] = [];
    const models: { label: string; load: () => Promise<LoadedModel>; T: number }[] = [];
    const bin = path.join(SHARED, 'nq-docs-5M.bin');
    if (fs.existsSync(bin))
      models.push({ label: 'nq-docs-5M', load: () => loadModel(bin), T: ctx.quick ? 64 : 256 });
    else ctx.log(`  model-webgpu: ${bin} missing, real-model rows skipped`);
    const wide = ctx.quick
      ? { ...WIDE, dim: 512, nHeads: 8, nKvHeads: 2, hiddenDim: 1376, vocabSize: 4096 }
      : WIDE;
    models.push({
      label: `random-d${wide.dim}-l${wide.nLayers}`,
      load: async () => randomModel(wide, 1),
      T: ctx.quick ? 64 : 512,
    });

    const threads = Math.min(os.cpus().length, 8);
    const pool = await createGemmPool({ threads });
    ctx.log(`  model-webgpu: CPU GEMM pool of ${threads} threads ready`);
    try {
      for (const m of models) {
        const t0 = Date.now();
        const model = await m.load();
        ctx.log(`  model-webgpu: ${m.label} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        const tokens = Array.from({ length: m.T }, (_, i) => (i * 7919 + 1) % model.config.vocabSize);
        const flops = prefillFlops(model.config, m.T, m.T);
        let cpuGflops: number | undefined;
        if (!ctx.backend || ctx.backend === 'cpu' || ctx.backend === 'webgpu') {
          const rec = await measure(
            'model-webgpu',
            {
              op: `prefill-${m.label}`,
              backend: 'cpu',
              n: m.T,
              shape: `threads=${threads}`,
              flops,
              iterations: 3,
              time: 200,
              fn: () => forward(model, tokens, { gemm: pool.gemm }),
            },
            ctx.machine,
          );
          cpuGflops = rec.gflops;
          out.push({ ...rec, tokens_per_s: (m.T / rec.median_ms) * 1000 });
          ctx.log(`  model-webgpu cpu ${m.label}: ${rec.median_ms.toFixed(1)} ms`);
        }
        if (!ctx.backend || ctx.backend === 'webgpu') {
          try {
            const gpu = await getWebGPUDevice();
            const gm = await uploadModel(model);
            try {
              const rec = await measure(
                'model-webgpu',
                {
                  op: `prefill-${m.label}`,
                  backend: 'webgpu',
                  n: m.T,
                  flops,
                  iterations: 5,
                  time: 300,
                  fn: () => forwardWebGPU(gm, tokens),
                },
                gpu.adapterName,
              );
              const r = cpuGflops ? withBaseline(rec, 'cpu-prefill', cpuGflops, 'gflops') : rec;
              out.push({ ...r, tokens_per_s: (m.T / rec.median_ms) * 1000 });
              ctx.log(`  model-webgpu webgpu ${m.label}: ${rec.median_ms.toFixed(1)} ms`);
            } finally {
              gm.destroy();
            }
          } catch (e) {
            ctx.log(`  model-webgpu webgpu ${m.label}: FAILED ${(e as Error).message}`);
            out.push({
              suite: 'model-webgpu',
              op: 'error',
              backend: 'webgpu',
              n: m.T,
              median_ms: Number.NaN,
              p75_ms: Number.NaN,
              p99_ms: Number.NaN,
              samples: 0,
              machine: ctx.machine,
              error: String((e as Error).message),
            });
          }
        }
      }
    } finally {
      await pool.close();
    }
    return out;
  },
};

export default suite;
