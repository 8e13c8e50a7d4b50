import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Rng } from '@nq/core';
import type { BenchRecord } from '@nq/core/bench';
import { getWebGPUDevice } from '@nq/core/webgpu';
import {
  f64Threads,
  type GptqResult,
  gptqQuantize,
  type Hessian,
  HessianAccumulator,
  quantizeModelSequential,
  sampleCalibration,
  wasmF64Available,
} from '@nq/gptq';
import { gptqQuantizeWebGPU, HessianAccumulatorWebGPU } from '@nq/gptq/webgpu';
import { createGemmPool, loadModel } from '@nq/model';
import { defaultWasmGemm } from '@nq/model/cpu';
import { errorRecord } from '../run.js';
import type { Suite, SuiteContext } from '../suite.js';

/**
 * @nq/gptq, per backend (cpu, webgpu):
 *  - `hessian` — H += XᵀX. webgpu: 262,144 tokens × 4096 (the same 2048-token batch uploaded 128
 *    times: the kernel does not care which tokens), quick 2048 × 512. cpu: 2048 tokens × 4096 (quick
 *    × 512) in float64 and in float32 chunks on @nq/model's wasm SIMD GEMM; GFLOP/s counts 2·T·n²
 *    and `extrapolated_s` is the 262,144-token time at that rate (linear in tokens).
 *  - `gptq` — one 4096 × 4096 layer (quick 512²), INT4 g128 asym, act-order + static groups, block
 *    128, proxy loss off. H from n + 256 correlated tokens (built once, untimed: the solve does not
 *    depend on how many tokens built H). Records carry `timings` (setup = float64
 *    Cholesky + triangular inverse + permutations; columns = host per-column loop; update = lazy
 *    updates incl. webgpu read-backs) and `cpu_s` (process CPU seconds: wall/cpu shows host load).
 *    NQ_GPTQ_THREADS=n runs the float64 kernels on n threads (default 1).
 *  - `sequential nq-docs-5M` — the whole model, 4 blocks × 7 linears, INT4 g128 GPTQ on 128 × 256
 *    tokens of docs-calib (quick 8 × 256), Rng(0); calibration forwards and Hessians on the cpu
 *    (NQ_BENCH_THREADS GEMM threads, default min(4, cores)), the per-linear solve on the backend.
 * Heavy cases run once (samples = 1, p75 = p99 = median). ../shared is found beside the repository
 * or through NQ_SHARED.
 */
const SHARED_ROOT = process.env.NQ_SHARED ?? path.resolve(import.meta.dirname, '../../../../shared');
const FULL_TOKENS = 256 * 1024;

function correlated(T: number, n: number, seed: number): Float32Array {
  const x = new Rng(seed).normals(T * n);
  for (let t = 0; t < T; t++)
    for (let j = 1; j < n; j++) x[t * n + j] = x[t * n + j]! + 0.6 * x[t * n + j - 1]!;
  return x;
}

/**
 * The layer's Hessian: 2·XᵀX/T of T = n + 256 correlated tokens (full rank, dense), float32 chunks on
 * @nq/model's wasm SIMD GEMM summed in float64; built once, not timed. (A closed-form AR(1)
 * covariance would be cheaper but its Cholesky runs through denormal numbers — ρ^|i−j| underflows —
 * which no real Hessian does and which slow every float64 path several-fold.)
 */
function tokenHessian(n: number): Hessian {
  const T = n + 256;
  const g = defaultWasmGemm()?.gemm;
  const acc = new HessianAccumulator(n, g ? { gemm: g } : {});
  acc.addRows(correlated(T, n, 2), T);
  return acc.finalize();
}

function benchThreads(): number {
  const env = Number(process.env.NQ_BENCH_THREADS);
  return Number.isInteger(env) && env > 0 ? env : Math.min(4, os.cpus().length);
}

const suite: Suite = {
  name: 'gptq',
  description:
    'GPTQ: Hessian (262k tokens × 4096 on webgpu), one 4096×4096 layer, the nq-docs-5M sequential run (cpu, webgpu)',
  async run(ctx: SuiteContext): Promise<BenchRecord[]> {
    const out: BenchRecord[] = [];
    const want = (b: string) => !ctx.backend || ctx.backend === b;
    const n = ctx.quick ? 512 : 4096;
    const T = 2048;
    const run = async (
      op: string,
      backend: string,
      nn: number,
      shape: string,
      flops: number | undefined,
      machine: string,
      fn: () => unknown,
      extra: (value: unknown, ms: number) => Record<string, unknown> = () => ({}),
    ) => {
      try {
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        const value = await fn();
        const ms = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        const r: BenchRecord = {
          suite: 'gptq',
          op,
          backend,
          n: nn,
          shape,
          ...(flops ? { flops, gflops: flops / (ms * 1e6) } : {}),
          median_ms: ms,
          p75_ms: ms,
          p99_ms: ms,
          samples: 1,
          machine,
          cpu_s: (cpu.user + cpu.system) / 1e6,
          ...extra(value, ms),
        };
        out.push(r);
        const t = r.timings as Record<string, number> | undefined;
        ctx.log(
          `  gptq ${op} ${backend} ${shape}: ${(ms / 1000).toFixed(2)} s (cpu ${(r.cpu_s as number).toFixed(1)} s)` +
            (r.gflops ? `, ${(r.gflops as number).toFixed(2)} GFLOP/s` : '') +
            (r.extrapolated_s
              ? `, ${FULL_TOKENS} tokens ≈ ${(r.extrapolated_s as number).toFixed(0)} s`
              : '') +
            (t
              ? `; setup ${t.setup!.toFixed(2)} columns ${t.columns!.toFixed(2)} update ${t.update!.toFixed(2)}`
              : ''),
        );
      } catch (e) {
        ctx.log(`  gptq ${op} ${backend}: FAILED ${(e as Error)?.message ?? e}`);
        out.push({ ...errorRecord('gptq', backend, e, machine), op, n: nn, shape });
      }
    };
    const gptqExtra = (v: unknown) => {
      const r = v as GptqResult;
      return { timings: r.timings, damping_attempts: r.damping.attempts };
    };

    // (a) Hessian
    const x = correlated(T, n, 1);
    if (want('cpu')) {
      const perToken = (ms: number) => ({ extrapolated_s: (ms / 1000) * (FULL_TOKENS / T) });
      await run(
        'hessian f64',
        'cpu',
        n,
        `n=${n} tokens=${T}`,
        2 * T * n * n,
        ctx.machine,
        () => new HessianAccumulator(n).addRows(x, T),
        (_v, ms) => perToken(ms),
      );
      const g = defaultWasmGemm()?.gemm;
      if (g)
        await run(
          'hessian f32-chunks (wasm SIMD)',
          'cpu',
          n,
          `n=${n} tokens=${T}`,
          2 * T * n * n,
          ctx.machine,
          () => new HessianAccumulator(n, { gemm: g }).addRows(x, T),
          (_v, ms) => perToken(ms),
        );
    }
    let adapter: string | null = null;
    if (want('webgpu')) {
      try {
        adapter = (await getWebGPUDevice()).adapterName;
      } catch (e) {
        ctx.log(`  gptq webgpu: skipped (${(e as Error)?.message ?? e})`);
      }
    }
    if (adapter) {
      const Tg = ctx.quick ? T : FULL_TOKENS;
      await run('hessian', 'webgpu', n, `n=${n} tokens=${Tg}`, 2 * Tg * n * n, adapter, async () => {
        const acc = await HessianAccumulatorWebGPU.create(n);
        for (let t = 0; t < Tg; t += T) acc.add({ rows: T, cols: n, data: x });
        await acc.finalize();
        acc.destroy();
      });
    }

    // (b) one layer
    const h = want('cpu') || adapter ? tokenHessian(n) : null;
    const w = { rows: n, cols: n, data: new Rng(3).normals(n * n) };
    const spec = {
      format: 'int' as const,
      bits: 4,
      granularity: 'group' as const,
      groupSize: 128,
      symmetric: false,
    };
    const opts = { scheme: spec, actOrder: true, staticGroups: true, blockSize: 128, proxyLoss: false };
    const layerShape = `${n}x${n} int4 g128 act-order static-groups, f64 kernel ${wasmF64Available() ? 'wasm f64x2' : 'scalar js'} × ${f64Threads()} thread(s)`;
    if (h && want('cpu'))
      await run(
        'layer',
        'cpu',
        n,
        layerShape,
        undefined,
        ctx.machine,
        () => gptqQuantize(w, h, opts),
        gptqExtra,
      );
    if (h && adapter)
      await run(
        'layer',
        'webgpu',
        n,
        layerShape,
        undefined,
        `${adapter} (host: ${ctx.machine})`,
        () => gptqQuantizeWebGPU(w, h, opts),
        gptqExtra,
      );

    // (c) the nq-docs-5M sequential run
    const modelPath = path.join(SHARED_ROOT, 'models/nq-docs-5M/nq-docs-5M.bin');
    const calib = path.join(SHARED_ROOT, 'data/docs-calib.txt');
    const backends = [...(want('cpu') ? ['cpu'] : []), ...(adapter ? ['webgpu'] : [])];
    if (backends.length > 0 && fs.existsSync(modelPath) && fs.existsSync(calib)) {
      const model = await loadModel(modelPath);
      const seqs = await sampleCalibration({
        text: calib,
        tokenizer: path.join(SHARED_ROOT, 'models/nq-docs-5M/tok4096.model'),
        sequences: ctx.quick ? 8 : 128,
        ctx: 256,
        seed: 0,
      });
      const threads = benchThreads();
      const pool = await createGemmPool({ threads });
      try {
        for (const b of backends) {
          await run(
            'sequential nq-docs-5M int4 g128',
            b,
            seqs.length * 256,
            `${seqs.length}x256 tokens, 28 linears, ${threads} GEMM threads`,
            undefined,
            b === 'webgpu' ? `${adapter} (host: ${ctx.machine})` : ctx.machine,
            () =>
              quantizeModelSequential(model, {
                scheme: spec,
                calibration: seqs,
                gemm: pool.gemm,
                ...(b === 'webgpu' ? { solver: gptqQuantizeWebGPU } : {}),
              }),
            (v) => {
              const r = v as { linears: { seconds: number }[] };
              return { solve_s: r.linears.reduce((s, L) => s + L.seconds, 0) };
            },
          );
        }
      } finally {
        await pool.close();
      }
    } else if (backends.length > 0)
      ctx.log(`  gptq sequential: skipped (${modelPath} or ${calib} missing; set NQ_SHARED)`);
    return out;
  },
};

export default suite;
