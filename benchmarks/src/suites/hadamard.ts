import { matrix, Rng } from '@nq/core';
import type { BenchRecord } from '@nq/core/bench';
import { rotate } from '../../../packages/hadamard/src/cpu/index.js';
// Relative imports until benchmarks/package.json lists "@nq/hadamard": "workspace:*".
import { compileRotation, randomHadamard } from '../../../packages/hadamard/src/index.js';
import { measureCases, type SuiteCase } from '../cases.js';
import type { Suite, SuiteContext } from '../suite.js';

/**
 * @nq/hadamard: one rotation pass x ↦ x·R (R = randomHadamard(n): signs, transform, 1/√n) over a
 * batch of rows, per backend, n ∈ {128, 256, 1024, 4096, 8192, 16384} and the Kronecker size
 * 28·1024. Bytes per pass = read + write of the batch. Batch ≥ 64 MB (NQ_HADAMARD_BENCH_MB to change;
 * --quick: 8 MB).
 *  - cpu: out of place into a preallocated matrix (one read of x, one write of out), one thread;
 *    ratio vs 'triad-1t'.
 *  - webgpu: in place on a GPU-resident batch; `reps` passes per submit, so the submit/wait latency
 *    is amortized; op 'copy' = copyBufferToBuffer of the same bytes measured the same way on the same
 *    adapter, and every webgpu ratio is against that copy (key 'webgpu-copy').
 *  - gpujs: gpu.js kernels (correctness-first backend), small batch.
 */
const SIZES = [128, 256, 1024, 4096, 8192, 16384, 28 * 1024];

/** Device-to-device copy kernel: 256 threads × 4 vec4s each. */
const COPY_WGSL = `
struct Params { count: u32, a: u32, b: u32, c: u32 }
@group(0) @binding(0) var<storage, read> src: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4f>;
@group(0) @binding(2) var<uniform> P: Params;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let base = (wid.x + wid.y * nwg.x) * 1024u + li;
  for (var k = 0u; k < 4u; k++) {
    let i = base + k * 256u;
    if (i < P.count) { dst[i] = src[i]; }
  }
}`;

function batchRows(n: number, bytes: number): number {
  return Math.max(1, Math.floor(bytes / (4 * n)));
}

function cpuCases(ctx: SuiteContext, batchBytes: number): SuiteCase[] {
  return SIZES.map((n): SuiteCase => {
    const rows = batchRows(n, batchBytes);
    let x = matrix(1, n, new Float32Array(n));
    let out = x;
    const rot = compileRotation(randomHadamard(n, 1));
    return {
      op: n === 28 * 1024 ? 'rotate-kron-28x1024' : 'rotate',
      backend: 'cpu',
      n,
      shape: `rows=${rows}`,
      bytes: 2 * rows * n * 4,
      setup: () => {
        x = matrix(rows, n, new Rng(n).normals(rows * n));
        out = matrix(rows, n, new Float32Array(rows * n));
      },
      fn: () => rotate(x, rot, { out }),
      teardown: () => {
        x = out = matrix(1, n, new Float32Array(n));
      },
      time: ctx.quick ? 200 : 1000,
      iterations: ctx.quick ? 3 : 5,
      baseline: 'triad-1t',
    };
  });
}

async function webgpuRecords(ctx: SuiteContext, batchBytes: number): Promise<BenchRecord[]> {
  const core = await import('@nq/core/webgpu');
  const wg = await import('../../../packages/hadamard/src/webgpu/index.js');
  const gpu = await core.getWebGPUDevice();
  const { device } = gpu;
  const slow = gpu.kind === 'cpu-fallback';
  // On a real GPU at least 256 MB per pass (issue 4's protocol): at 64 MB the fixed per-dispatch cost
  // (inferred on the H100: the copy kernel took 84 µs per 64 MB pass vs 49 µs at its 256 MB rate)
  // understates every kernel.
  const gpuBytes = ctx.quick ? batchBytes : Math.max(batchBytes, 256 << 20);
  const bytes = Math.min(device.limits.maxStorageBufferBindingSize, slow ? 16 << 20 : gpuBytes);
  ctx.log(`  hadamard webgpu on ${gpu.adapterName} (${gpu.kind}), batch ${(bytes / 2 ** 20).toFixed(0)} MB`);
  const machine = `${gpu.adapterName} (webgpu)`;
  // Passes per submit: enough GPU work per sample that submit + wait latency is noise.
  const reps = slow ? 1 : Math.max(4, Math.round((16 * 2 ** 30) / (2 * bytes)));
  const timed = (
    label: string,
    n: number,
    rows: number,
    encode: (e: GPUCommandEncoder) => void,
    setup: () => void,
    teardown: () => void,
  ): SuiteCase => ({
    op: label,
    backend: 'webgpu',
    n,
    shape: `rows=${rows} reps=${reps}`,
    bytes: 2 * rows * n * 4 * reps,
    setup,
    fn: async () => {
      const enc = device.createCommandEncoder();
      for (let r = 0; r < reps; r++) encode(enc);
      device.queue.submit([enc.finish()]);
      await device.queue.onSubmittedWorkDone();
    },
    teardown,
    time: ctx.quick || slow ? 100 : 1000,
    iterations: ctx.quick || slow ? 2 : 10,
    baseline: 'webgpu-copy',
  });
  const records: BenchRecord[] = [];
  for (const n of SIZES) {
    const rows = batchRows(n, bytes);
    let a: ReturnType<typeof core.emptyGpuMatrix> | null = null;
    let b: ReturnType<typeof core.emptyGpuMatrix> | null = null;
    let rot: Awaited<ReturnType<typeof wg.prepareRotationWebGPU>> | null = null;
    const alloc = async () => {
      a = core.emptyGpuMatrix(device, rows, n);
      b = core.emptyGpuMatrix(device, rows, n);
      // Non-trivial data: a small random tile repeated (uploading 256 MB of normals would dominate setup).
      const tile = new Rng(n).normals(Math.min(rows * n, 1 << 20));
      for (let off = 0; off < rows * n; off += tile.length)
        device.queue.writeBuffer(
          a.buffer,
          off * 4,
          tile as Float32Array<ArrayBuffer>,
          0,
          Math.min(tile.length, rows * n - off),
        );
      rot = await wg.prepareRotationWebGPU(randomHadamard(n, 1));
      await device.queue.onSubmittedWorkDone();
    };
    const free = () => {
      rot?.destroy();
      if (a) core.destroyGpuMatrix(a);
      if (b) core.destroyGpuMatrix(b);
      a = b = rot = null;
    };
    await alloc();
    const copyCase = timed(
      'copy',
      n,
      rows,
      (e) => e.copyBufferToBuffer(a!.buffer, 0, b!.buffer, 0, rows * n * 4),
      () => {},
      () => {},
    );
    // A compute-shader copy too (vec4 loads/stores, what a memory-bound kernel can reach here); the
    // faster of the two copies is the baseline.
    const copyKernel = core.getPipeline(device, COPY_WGSL);
    const vec4s = (rows * n) / 4;
    const copyParams = core.createUniformBuffer(device, new Uint32Array([vec4s, 0, 0, 0]));
    const copyKernelCase = timed(
      'copy-kernel',
      n,
      rows,
      (e) => {
        const bg = device.createBindGroup({
          layout: copyKernel.getBindGroupLayout(0),
          entries: [a!.buffer, b!.buffer, copyParams].map((buffer, binding) => ({
            binding,
            resource: { buffer },
          })),
        });
        const p = e.beginComputePass();
        p.setPipeline(copyKernel);
        p.setBindGroup(0, bg);
        const [gx, gy] = core.workgroupGrid(device, Math.ceil(vec4s / 1024));
        p.dispatchWorkgroups(gx, gy, 1);
        p.end();
      },
      () => {},
      () => copyParams.destroy(),
    );
    const rotCase = timed(
      n === 28 * 1024 ? 'rotate-kron-28x1024' : 'rotate',
      n,
      rows,
      (e) => wg.encodeRotation(rot!, a!, a!, {}, e),
      () => {},
      free,
    );
    const recs = await measureCases('hadamard', { ...ctx, machine, backend: 'webgpu' }, [
      copyCase,
      copyKernelCase,
    ]);
    const copyGbps = Math.max(0, ...recs.map((r) => r.gbps ?? 0));
    const localCtx = { ...ctx, machine, backend: 'webgpu', baselines: new Map(ctx.baselines) };
    if (copyGbps) localCtx.baselines.set('webgpu-copy', copyGbps);
    const rotRecs = await measureCases('hadamard', localCtx, [rotCase]);
    records.push(...recs.map((r) => ({ ...r, subgroups: gpu.features.has('subgroups') })), ...rotRecs);
  }
  return records;
}

async function gpujsRecords(ctx: SuiteContext): Promise<BenchRecord[]> {
  let mod: typeof import('../../../packages/hadamard/src/gpujs/index.js');
  try {
    mod = await import('../../../packages/hadamard/src/gpujs/index.js');
  } catch (e) {
    ctx.log(`  hadamard gpujs: backend not loadable (${(e as Error).message})`);
    return [];
  }
  const cases: SuiteCase[] = [];
  const bytes = ctx.quick ? 1 << 20 : 4 << 20;
  for (const n of [128, 1024, 4096]) {
    const rows = batchRows(n, bytes);
    const x = matrix(rows, n, new Rng(n).normals(rows * n));
    const spec = randomHadamard(n, 1);
    cases.push({
      op: 'rotate',
      backend: 'gpujs',
      n,
      shape: `rows=${rows} mode=${mod.GPUJS_DEFAULT_MODE}`,
      bytes: 2 * rows * n * 4,
      fn: () => mod.rotateGpuJs(x, spec),
      time: 200,
      iterations: 2,
      baseline: 'triad-1t',
    });
  }
  return measureCases('hadamard', ctx, cases);
}

const suite: Suite = {
  name: 'hadamard',
  description:
    'rotation pass x·R (random Hadamard, n = 128 … 16384 and 28·1024) per backend: ms, GB/s, ratio to triad-1t (cpu) / device copy (webgpu)',
  async run(ctx: SuiteContext): Promise<BenchRecord[]> {
    const mb = Number(process.env.NQ_HADAMARD_BENCH_MB ?? 0);
    const batchBytes = ctx.quick ? 8 << 20 : Math.max(64, mb) << 20;
    const records: BenchRecord[] = [];
    if (!ctx.backend || ctx.backend === 'cpu')
      records.push(...(await measureCases('hadamard', ctx, cpuCases(ctx, batchBytes))));
    if (!ctx.backend || ctx.backend === 'webgpu') {
      try {
        records.push(...(await webgpuRecords(ctx, batchBytes)));
      } catch (e) {
        ctx.log(`  hadamard webgpu: ${(e as Error).message}`);
      }
    }
    if (!ctx.backend || ctx.backend === 'gpujs') records.push(...(await gpujsRecords(ctx)));
    return records;
  },
};

export default suite;
