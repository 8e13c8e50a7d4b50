import { type ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchRecord } from '@nq/core/bench';
import { measure, withBaseline } from '@nq/core/bench';
import { getWebGPUDevice } from '@nq/core/webgpu';
import {
  createGemmPool,
  createKvCache,
  forward,
  type LoadedModel,
  loadModel,
  type ModelConfig,
  randomModel,
} from '@nq/model';
import { createGpuKvCache, forwardWebGPU, uploadModel } from '@nq/model/webgpu';
import { prefillFlops } from '../model-flops.js';
import type { Suite, SuiteContext } from '../suite.js';

/**
 * Whole-sequence prefill (logits at every position) and KV-cache decode on WebGPU against nq's CPU
 * forward of the same model in the same run: nq-docs-5M at context 256, and a random model with
 * 7B-class layer widths (dim 4096, SwiGLU 11008, vocab 32000; 2 layers so that it fits any host) at
 * 512 tokens. Prefill records carry GFLOP/s and tokens_per_s, ratio = webgpu GFLOP/s ÷ CPU GFLOP/s
 * (baseline 'cpu-prefill'); decode records carry tokens_per_s (one token per forward after a
 * prefill of half the context, logits of that token read back each step), ratio = webgpu tok/s ÷
 * CPU tok/s (baseline 'cpu-decode', 1 thread: decode is GEMV-bound).
 *
 * The CPU baseline runs in a child process with NQ_BENCH_THREADS threads (default min(4, cores)) and
 * a per-step limit of NQ_BENCH_STEP_TIMEOUT_S seconds (default 120): a step that hangs (a stuck GEMM
 * pool) is killed and reported as an error record, and the GPU rows still run.
 * Without --backend it runs both; with --backend cpu only the CPU rows.
 * ../shared is found beside the repository or through NQ_SHARED.
 */
const SHARED_ROOT = process.env.NQ_SHARED ?? path.resolve(import.meta.dirname, '../../../../shared');
const NQ5M_BIN = path.join(SHARED_ROOT, 'models/nq-docs-5M/nq-docs-5M.bin');

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
const WIDE_QUICK: ModelConfig = {
  ...WIDE,
  dim: 512,
  nHeads: 8,
  nKvHeads: 2,
  hiddenDim: 1376,
  vocabSize: 4096,
};

/** How a model is made, in a form a worker can rebuild (a file, or a seeded random config). */
type ModelSource = { kind: 'file'; path: string } | { kind: 'random'; config: ModelConfig; seed: number };
interface Case {
  label: string;
  source: ModelSource;
  /** Prefill length; decode starts after T/2 tokens and runs DECODE_STEPS steps. */
  T: number;
}
const DECODE_STEPS = 32;
/** The CPU decodes fewer steps per sample (a 7B-width step streams 2.5 GB of weights on one thread). */
const CPU_DECODE_STEPS = 8;

function benchThreads(): number {
  const env = Number(process.env.NQ_BENCH_THREADS);
  if (Number.isInteger(env) && env >= 1) return env;
  return Math.max(1, Math.min(4, os.availableParallelism?.() ?? os.cpus().length));
}

function stepTimeoutMs(): number {
  const s = Number(process.env.NQ_BENCH_STEP_TIMEOUT_S);
  return (Number.isFinite(s) && s > 0 ? s : 120) * 1000;
}

async function load(src: ModelSource): Promise<LoadedModel> {
  return src.kind === 'file' ? loadModel(src.path) : randomModel(src.config, src.seed);
}

const tokensFor = (n: number, vocab: number) => Array.from({ length: n }, (_, i) => (i * 7919 + 1) % vocab);

function errorRecord(op: string, backend: string, n: number, machine: string, msg: string): BenchRecord {
  return {
    suite: 'model-webgpu',
    op,
    backend,
    n,
    median_ms: Number.NaN,
    p75_ms: Number.NaN,
    p99_ms: Number.NaN,
    samples: 0,
    machine,
    error: msg,
  };
}

// ───────────────────────────── CPU baseline (runs in a child process) ─────────────────────────────

interface CpuJob {
  nqModelWebgpuCpuJob: true;
  step: 'prefill' | 'decode';
  c: Case;
  threads: number;
  machine: string;
}

async function cpuStep(job: CpuJob): Promise<BenchRecord> {
  const model = await load(job.c.source);
  const { T } = job.c;
  const tokens = tokensFor(T, model.config.vocabSize);
  if (job.step === 'prefill') {
    const pool = job.threads > 1 ? await createGemmPool({ threads: job.threads }) : null;
    try {
      const rec = await measure(
        'model-webgpu',
        {
          op: `prefill-${job.c.label}`,
          backend: 'cpu',
          n: T,
          shape: `threads=${job.threads}`,
          flops: prefillFlops(model.config, T, 'all'),
          iterations: 3,
          time: 200,
          fn: () => forward(model, tokens, pool ? { gemm: pool.gemm } : {}),
        },
        job.machine,
      );
      return { ...rec, tokens_per_s: (T / rec.median_ms) * 1000 };
    } finally {
      await pool?.close();
    }
  }
  const P = T / 2;
  const cache = createKvCache(model.config, P + CPU_DECODE_STEPS);
  forward(model, tokens.slice(0, P), { cache, lastOnly: true });
  const rec = await measure(
    'model-webgpu',
    {
      op: `decode-${job.c.label}`,
      backend: 'cpu',
      n: CPU_DECODE_STEPS,
      shape: `after ${P} tokens, threads=1`,
      iterations: 3,
      time: 200,
      fn: () => {
        cache.length = P;
        for (let i = 0; i < CPU_DECODE_STEPS; i++)
          forward(model, [tokens[P + i]!], { cache, lastOnly: true });
      },
    },
    job.machine,
  );
  return { ...rec, tokens_per_s: (CPU_DECODE_STEPS / rec.median_ms) * 1000 };
}

const JOB_ENV = 'NQ_MODEL_WEBGPU_CPU_JOB';
if (process.env[JOB_ENV] && process.send) {
  const job = JSON.parse(process.env[JOB_ENV]!) as CpuJob;
  cpuStep(job).then(
    (rec) => process.send!({ rec }, () => process.exit(0)),
    (e: unknown) => process.send!({ error: String((e as Error)?.message ?? e) }, () => process.exit(0)),
  );
}

/**
 * Runs one CPU step in a child process (this file, forked); after `timeoutMs` it is killed and an
 * error record returned. A process rather than a worker thread: killing it always works, even when
 * a GEMM pool's threads are stuck in Atomics.wait.
 */
function cpuStepInChild(job: CpuJob, timeoutMs: number): Promise<BenchRecord> {
  return new Promise((resolve) => {
    const op = `${job.step}-${job.c.label}`;
    const file = fileURLToPath(import.meta.url);
    // From source (pnpm bench runs tsx) the child needs tsx and the "source" condition too; the
    // esbuild bundle (.mjs) runs as is.
    const execArgv = file.endsWith('.ts') ? ['--import', 'tsx', '--conditions=source'] : [];
    let child: ChildProcess;
    try {
      child = fork(file, [], {
        env: { ...process.env, [JOB_ENV]: JSON.stringify(job) },
        execArgv,
        // The child's stdout goes to our stderr: --json stdout stays one record per line.
        stdio: ['ignore', 2, 2, 'ipc'],
      });
    } catch (e) {
      resolve(errorRecord(op, 'cpu', job.c.T, job.machine, `child failed to start: ${(e as Error).message}`));
      return;
    }
    let done = false;
    const finish = (r: BenchRecord) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
      resolve(r);
    };
    const timer = setTimeout(
      () =>
        finish(
          errorRecord(op, 'cpu', job.c.T, job.machine, `timed out after ${timeoutMs / 1000} s (killed)`),
        ),
      timeoutMs,
    );
    child.on('message', (m: { rec?: BenchRecord; error?: string }) =>
      finish(m.rec ?? errorRecord(op, 'cpu', job.c.T, job.machine, m.error ?? 'no result')),
    );
    child.on('error', (e) => finish(errorRecord(op, 'cpu', job.c.T, job.machine, e.message)));
    child.on('exit', (code, sig) =>
      finish(errorRecord(op, 'cpu', job.c.T, job.machine, `child exited (${code ?? sig}) without a result`)),
    );
  });
}

// ───────────────────────────── GPU rows ─────────────────────────────

async function gpuRows(
  c: Case,
  model: LoadedModel,
  ctx: SuiteContext,
  cpu: Map<string, number>,
): Promise<BenchRecord[]> {
  const out: BenchRecord[] = [];
  const gpu = await getWebGPUDevice();
  const gm = await uploadModel(model);
  const { T } = c;
  const tokens = tokensFor(T, model.config.vocabSize);
  try {
    const flops = prefillFlops(model.config, T, 'all');
    const rec = await measure(
      'model-webgpu',
      {
        op: `prefill-${c.label}`,
        backend: 'webgpu',
        n: T,
        flops,
        iterations: 5,
        time: 300,
        fn: () => forwardWebGPU(gm, tokens),
      },
      gpu.adapterName,
    );
    const base = cpu.get(`prefill-${c.label}`);
    const r = base ? withBaseline(rec, 'cpu-prefill', base, 'gflops') : rec;
    out.push({ ...r, tokens_per_s: (T / rec.median_ms) * 1000, ...(base ? { cpu_gflops: base } : {}) });
    ctx.log(`  model-webgpu webgpu prefill ${c.label}: ${rec.median_ms.toFixed(1)} ms`);

    const P = T / 2;
    const cache = createGpuKvCache(gm, P + DECODE_STEPS);
    try {
      await forwardWebGPU(gm, tokens.slice(0, P), { cache, lastOnly: true });
      const d = await measure(
        'model-webgpu',
        {
          op: `decode-${c.label}`,
          backend: 'webgpu',
          n: DECODE_STEPS,
          shape: `after ${P} tokens`,
          iterations: 5,
          time: 300,
          fn: async () => {
            cache.length = P;
            for (let i = 0; i < DECODE_STEPS; i++)
              await forwardWebGPU(gm, [tokens[P + i]!], { cache, lastOnly: true });
          },
        },
        gpu.adapterName,
      );
      const tps = (DECODE_STEPS / d.median_ms) * 1000;
      const cpuTps = cpu.get(`decode-${c.label}`);
      out.push({
        ...d,
        tokens_per_s: tps,
        ...(cpuTps ? { baseline: 'cpu-decode', ratio: tps / cpuTps, cpu_tokens_per_s: cpuTps } : {}),
      });
      ctx.log(`  model-webgpu webgpu decode ${c.label}: ${tps.toFixed(0)} tok/s`);
    } finally {
      cache.destroy();
    }
  } finally {
    gm.destroy();
  }
  return out;
}

const suite: Suite = {
  name: 'model-webgpu',
  description:
    'prefill and KV-cache decode on WebGPU vs nq CPU (in a child process, NQ_BENCH_THREADS, per-step timeout), nq-docs-5M and a 7B-width random model',
  async run(ctx: SuiteContext): Promise<BenchRecord[]> {
    const out: BenchRecord[] = [];
    const cases: Case[] = [];
    if (fs.existsSync(NQ5M_BIN))
      cases.push({ label: 'nq-docs-5M', source: { kind: 'file', path: NQ5M_BIN }, T: ctx.quick ? 64 : 256 });
    else ctx.log(`  model-webgpu: ${NQ5M_BIN} missing, real-model rows skipped (set NQ_SHARED)`);
    const wide = ctx.quick ? WIDE_QUICK : WIDE;
    cases.push({
      label: `random-d${wide.dim}-l${wide.nLayers}`,
      source: { kind: 'random', config: wide, seed: 1 },
      T: ctx.quick ? 64 : 512,
    });
    const threads = benchThreads();
    const timeout = stepTimeoutMs();
    ctx.log(
      `  model-webgpu: CPU baseline in a child process, ${threads} threads, ${timeout / 1000} s per step`,
    );

    for (const c of cases) {
      // name → CPU GFLOP/s (prefill) or tokens/s (decode), for the GPU rows' ratios.
      const cpu = new Map<string, number>();
      if (!ctx.backend || ctx.backend === 'cpu' || ctx.backend === 'webgpu') {
        for (const step of ['prefill', 'decode'] as const) {
          const t0 = Date.now();
          const rec = await cpuStepInChild(
            {
              nqModelWebgpuCpuJob: true,
              step,
              c,
              threads: step === 'prefill' ? threads : 1,
              machine: ctx.machine,
            },
            timeout,
          );
          out.push(rec);
          if (rec.error) ctx.log(`  model-webgpu cpu ${step} ${c.label}: FAILED ${rec.error}`);
          else {
            cpu.set(`${step}-${c.label}`, step === 'prefill' ? rec.gflops! : (rec.tokens_per_s as number));
            ctx.log(
              `  model-webgpu cpu ${step} ${c.label}: ${rec.median_ms.toFixed(1)} ms (${((Date.now() - t0) / 1000).toFixed(1)} s with load)`,
            );
          }
        }
      }
      if (!ctx.backend || ctx.backend === 'webgpu') {
        try {
          const t0 = Date.now();
          const model = await load(c.source);
          ctx.log(`  model-webgpu: ${c.label} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
          out.push(...(await gpuRows(c, model, ctx, cpu)));
        } catch (e) {
          ctx.log(`  model-webgpu webgpu ${c.label}: FAILED ${(e as Error).message}`);
          out.push(
            errorRecord(`prefill-${c.label}`, 'webgpu', c.T, ctx.machine, String((e as Error).message)),
          );
        }
      }
    }
    return out;
  },
};

export default suite;
