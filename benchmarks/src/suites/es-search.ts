import { type Matrix, Rng } from '@nq/core';
import type { BenchRecord } from '@nq/core/bench';
import {
  CpuErrorEvaluator,
  defaultOperatorOptions,
  type QuantTarget,
  randomGenome,
  toRotationSpec,
} from '@nq/es-search';
import { type CompiledRotation, compileRotation } from '@nq/hadamard';
import { measureCases, type SuiteCase } from '../cases.js';
import { errorRecord } from '../run.js';
import type { Suite, SuiteContext } from '../suite.js';

/**
 * @nq/es-search: candidate evaluations per second — the inner loop of the search — on cpu, webgpu and
 * gpujs (gpu.js in its webgpu mode) in the same run, on the same data and the same random genomes
 * (1–3 block-Hadamard stages with signs). One timed call = one `errors()` call on a batch of genomes:
 *  - int8 / int4: rotate X (tokens × k), fake-quant per token, relative error;
 *  - w4a4: also W·R, its 4-bit per-row fake quant and the GEMM error of Q(X·R)·Q(W·R)ᵀ vs X·Wᵀ.
 * Shapes: nq-docs-5M's (k = 256, W = gate|up 1536 × 256; k = 768, W = down 256 × 768) and a
 * LLaMA-7B-sized attention input (k = 4096, W = q 4096 × 4096; webgpu only, 16 genomes per batch:
 * a CPU would take minutes and gpu.js's float32 indexing cannot hold a dense 4096² R). Data: seeded LLM-like activations (Gaussian with 4 outlier channels ×20).
 *
 * Backends: `--backend cpu|webgpu|gpujs` measures that backend; for webgpu and gpujs the CPU rows of
 * the same shapes are measured too (the same-run reference for `speedup_vs_cpu`). No --backend: all
 * three. Batches: 16 genomes on the CPU, 64 on the GPU backends (they are built to batch); quick runs
 * use 64 tokens and 4 / 8 genomes. Records carry `evaluations_per_s`, `batch`, `speedup_vs_cpu`.
 * Backends that cannot start (no WebGPU adapter, no gpu.js) give an error record, the rest still run.
 */

interface Shape {
  target: QuantTarget;
  k: number;
  out: number;
  gpuOnly?: boolean;
}

const SHAPES: Shape[] = [
  { target: 'int8', k: 256, out: 0 },
  { target: 'int4', k: 768, out: 0 },
  { target: 'w4a4', k: 256, out: 1536 },
  { target: 'w4a4', k: 768, out: 256 },
  { target: 'int8', k: 4096, out: 0, gpuOnly: true },
  { target: 'w4a4', k: 4096, out: 4096, gpuOnly: true },
];

function data(shape: Shape, T: number): { x: Matrix; w: Matrix | null; rng: Rng } {
  const rng = new Rng(shape.k * 7 + shape.out);
  const x = { rows: T, cols: shape.k, data: rng.normals(T * shape.k) };
  for (let i = 0; i < 4; i++) {
    const ch = rng.int(shape.k);
    for (let t = 0; t < T; t++) x.data[t * shape.k + ch]! *= 20;
  }
  const w =
    shape.out > 0
      ? { rows: shape.out, cols: shape.k, data: rng.normals(shape.out * shape.k, 0, 0.05) }
      : null;
  return { x, w, rng };
}

type Backend = 'cpu' | 'webgpu' | 'gpujs';

interface Evaluator {
  errors(specs: readonly CompiledRotation[]): Float64Array | Promise<Float64Array>;
  destroy?(): void;
}

async function makeEvaluator(
  backend: Backend,
  x: Matrix,
  w: Matrix | null,
  target: QuantTarget,
): Promise<Evaluator> {
  if (backend === 'cpu') return new CpuErrorEvaluator(x, w, target);
  if (backend === 'webgpu') {
    const { WebGPUErrorEvaluator } = await import('@nq/es-search/webgpu');
    return WebGPUErrorEvaluator.create(x, target, w);
  }
  const { GpuJsErrorEvaluator } = await import('@nq/es-search/gpujs');
  return GpuJsErrorEvaluator.create(x, target, w, { mode: 'webgpu' });
}

async function machineOf(backend: Backend, ctx: SuiteContext): Promise<string> {
  if (backend === 'cpu') return ctx.machine;
  try {
    const { getWebGPUDevice } = await import('@nq/core/webgpu');
    const gpu = await getWebGPUDevice();
    return `${gpu.adapterName} (${backend === 'webgpu' ? 'webgpu' : 'gpu.js webgpu'})`;
  } catch {
    return `${backend} (no adapter)`;
  }
}

/** Why a GPU backend cannot run here (no WebGPU adapter; gpu.js not installed), or null. */
async function backendUnavailable(backend: Backend): Promise<string | null> {
  try {
    if (backend === 'webgpu') await (await import('@nq/core/webgpu')).getWebGPUDevice();
    if (backend === 'gpujs') await (await import('@nq/core/gpujs')).getGpuJs('webgpu');
    return null;
  } catch (e) {
    return (e as Error)?.message ?? String(e);
  }
}

const suite: Suite = {
  name: 'es-search',
  description: 'es-search: candidate evaluations/s (int8, int4, w4a4 cost) on cpu, webgpu and gpu.js',
  async run(ctx) {
    const T = ctx.quick ? 64 : 256;
    const backends: Backend[] =
      ctx.backend === 'cpu'
        ? ['cpu']
        : ctx.backend === 'webgpu'
          ? ['cpu', 'webgpu']
          : ctx.backend === 'gpujs'
            ? ['cpu', 'gpujs']
            : ['cpu', 'webgpu', 'gpujs'];
    const records: BenchRecord[] = [];
    const cpuRate = new Map<string, number>();
    for (const backend of backends) {
      const backendBatch = backend === 'cpu' ? (ctx.quick ? 4 : 16) : ctx.quick ? 8 : 64;
      const machine = await machineOf(backend, ctx);
      const unavailable = await backendUnavailable(backend);
      if (unavailable) {
        // One error record for the backend (not one per shape); the other backends still run.
        ctx.log(`es-search ${backend}: not available here (${unavailable})`);
        records.push(errorRecord('es-search', backend, new Error(unavailable), machine));
        continue;
      }
      for (const shape of SHAPES) {
        // The 4096 shapes: GPU only (minutes on a CPU); not gpu.js (a dense 4096² R passes its 2^24 index limit).
        if (shape.gpuOnly && (backend !== 'webgpu' || ctx.quick)) continue;
        const batch = shape.gpuOnly ? 16 : backendBatch;
        const { x, w, rng } = data(shape, T);
        const ops = defaultOperatorOptions(shape.k);
        // The same genomes for every backend (same seed); the GPU batch extends the CPU one.
        const specs = Array.from({ length: batch }, () =>
          compileRotation(toRotationSpec(randomGenome(shape.k, rng, ops))),
        );
        const key = `${shape.target}|${shape.k}|${shape.out}`;
        let ev: Evaluator | null = null;
        const bytesPer = 4 * 4 * T * shape.k + (w ? 4 * 4 * shape.out * shape.k + 4 * T * shape.out : 0);
        const c: SuiteCase = {
          op: `evaluate-${shape.target}`,
          backend,
          n: shape.k,
          shape: `tokens=${T}${w ? ` out=${shape.out}` : ''} batch=${batch}`,
          bytes: bytesPer * batch,
          ...(w ? { flops: 2 * T * shape.k * shape.out * batch, metric: 'gflops' as const } : {}),
          machine,
          time: ctx.quick ? 200 : 2000,
          iterations: ctx.quick ? 2 : 5,
          setup: async () => {
            ev ??= await makeEvaluator(backend, x, w, shape.target);
            await ev.errors(specs.slice(0, Math.min(2, batch))); // compile kernels / pipelines
          },
          fn: () => ev!.errors(specs),
          teardown: () => ev?.destroy?.(),
        };
        const [rec] = await measureCases('es-search', { ...ctx, backend: undefined }, [c]);
        if (!rec) continue;
        if (rec.median_ms > 0 && !('error' in rec)) {
          const rate = batch / (rec.median_ms / 1000);
          rec.evaluations_per_s = rate;
          rec.batch = batch;
          if (backend === 'cpu') cpuRate.set(key, rate);
          else if (cpuRate.has(key)) rec.speedup_vs_cpu = rate / cpuRate.get(key)!;
          ctx.log(
            `es-search ${backend} ${shape.target} k=${shape.k}${w ? ` out=${shape.out}` : ''}: ${rate.toFixed(1)} candidate evaluations/s${rec.speedup_vs_cpu ? ` (${(rec.speedup_vs_cpu as number).toFixed(1)}× cpu)` : ''}`,
          );
        }
        records.push(rec);
      }
    }
    return records;
  },
};

export default suite;
