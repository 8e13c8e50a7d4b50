import { type Matrix, matrix, Rng } from '@nq/core';
import type { BenchRecord } from '@nq/core/bench';
// Relative imports until benchmarks/package.json lists "@nq/quant-fp" and "@nq/hadamard" as "workspace:*".
import { fakeQuant, gemmError, type QuantSpec, quantize } from '../../../packages/quant-fp/src/index.js';
import { measureCases, type SuiteCase } from '../cases.js';
import type { Suite, SuiteContext } from '../suite.js';

/**
 * @nq/quant-int4 + @nq/quant-fp:
 *  - fake-quant (quantize → dequantize) and quantize-to-codes throughput per backend, format and
 *    granularity. Bytes per pass = the useful minimum, read x + write x̂ (2·4 bytes per element; the
 *    stats pass reads x once more, so 1.0 of the copy/triad bandwidth is out of reach by design).
 *    cpu ratio vs 'triad-1t' (one thread); webgpu ratio vs a copyBufferToBuffer of the same bytes on
 *    the same adapter ('webgpu-copy'); gpujs vs 'triad-all'.
 *  - the fused rotate → quantize → GEMM-error path (W4A4, int4 per token on both sides): GFLOP/s
 *    counting the two GEMMs Y = X·Wᵀ and Ŷ (4·m·n·k), plus 2·(m+n)·k² for a dense rotation; on an
 *    H100/H200 ratio vs the FP32 peak of about 67 TFLOP/s ('fp32-peak'). Full size 4096 tokens ×
 *    8192 × 8192 only on a hardware GPU without --quick; llvmpipe and --quick use small sizes.
 */
const SPECS: [string, QuantSpec][] = [
  ['int4-tensor', { format: 'int', bits: 4, granularity: 'tensor' }],
  ['int4-token', { format: 'int', bits: 4, granularity: 'token' }],
  ['int4-channel', { format: 'int', bits: 4, granularity: 'channel' }],
  ['int4-g128', { format: 'int', bits: 4, granularity: 'group', groupSize: 128 }],
  ['int4-g128-asym', { format: 'int', bits: 4, granularity: 'group', groupSize: 128, symmetric: false }],
  ['int8-token', { format: 'int', bits: 8, granularity: 'token' }],
  ['fp8e4m3-token', { format: 'fp8_e4m3', granularity: 'token' }],
  ['nvfp4', { format: 'nvfp4' }],
  ['mxfp4', { format: 'mxfp4' }],
];

function input(rows: number, cols: number, seed: number): Matrix {
  // LLM-like: Gaussian with a few outlier channels; a repeated random tile keeps setup fast.
  const tile = new Rng(seed).normals(Math.min(rows * cols, 1 << 20));
  const d = new Float32Array(rows * cols);
  for (let i = 0; i < d.length; i++) d[i] = tile[i % tile.length]! * ((i % cols) % 97 === 13 ? 20 : 1);
  return matrix(rows, cols, d);
}

function cpuCases(ctx: SuiteContext): SuiteCase[] {
  const [rows, cols] = ctx.quick ? [256, 1024] : [2048, 4096];
  let x = matrix(1, 128, new Float32Array(128));
  const setup = () => {
    if (x.rows !== rows) x = input(rows, cols, 1);
  };
  const cases: SuiteCase[] = SPECS.map(([name, spec]) => ({
    op: `fake-quant ${name}`,
    backend: 'cpu',
    n: cols,
    shape: `rows=${rows}`,
    bytes: 2 * rows * cols * 4,
    setup,
    fn: () => fakeQuant(x, spec),
    time: ctx.quick ? 200 : 1000,
    iterations: ctx.quick ? 3 : 5,
    baseline: 'triad-1t',
  }));
  for (const [name, spec] of SPECS.filter(([n]) => n === 'int4-g128-asym' || n === 'nvfp4')) {
    cases.push({
      op: `quantize ${name}`,
      backend: 'cpu',
      n: cols,
      shape: `rows=${rows}`,
      bytes: rows * cols * 5, // read x, write one code byte per element
      setup,
      fn: () => quantize(x, spec),
      time: ctx.quick ? 200 : 1000,
      iterations: ctx.quick ? 3 : 5,
      baseline: 'triad-1t',
    });
  }
  // the GEMM-error metric on the CPU, small (reference for the GPU figure)
  const [m, k, n] = ctx.quick ? [64, 256, 256] : [256, 1024, 1024];
  let gx = x;
  let gw = x;
  cases.push({
    op: 'gemm-error w4a4-token',
    backend: 'cpu',
    n: k,
    shape: `m=${m} n=${n} k=${k}`,
    flops: 4 * m * n * k,
    setup: () => {
      gx = input(m, k, 2);
      gw = input(n, k, 3);
    },
    fn: () => gemmError(gx, gw, { activation: SPECS[1]![1], weight: SPECS[1]![1] }),
    time: ctx.quick ? 200 : 1000,
    iterations: 3,
    baseline: 'none', // no same-run FLOP baseline on the CPU: GFLOP/s only
    metric: 'gflops',
  });
  return cases;
}

async function webgpuRecords(ctx: SuiteContext): Promise<BenchRecord[]> {
  const core = await import('@nq/core/webgpu');
  const qfp = await import('../../../packages/quant-fp/src/webgpu/index.js');
  const gpu = await core.getWebGPUDevice();
  const { device } = gpu;
  const slow = gpu.kind === 'cpu-fallback';
  const machine = `${gpu.adapterName} (webgpu)`;
  ctx.log(`  quant webgpu on ${gpu.adapterName} (${gpu.kind})`);
  const [rows, cols] = slow ? [128, 1024] : ctx.quick ? [1024, 4096] : [4096, 8192];
  const bytes = rows * cols * 4;
  const reps = slow ? 1 : Math.max(2, Math.min(32, Math.round((2 << 30) / bytes)));
  const localCtx = { ...ctx, machine, backend: 'webgpu', baselines: new Map(ctx.baselines) };
  const records: BenchRecord[] = [];

  // Resident input and output; allocated once for all fake-quant cases, freed at the end.
  const x = core.uploadMatrix(device, input(rows, cols, 1));
  const out = core.emptyGpuMatrix(device, rows, cols);
  const copyTo = core.emptyGpuMatrix(device, rows, cols);
  await device.queue.onSubmittedWorkDone();
  const timed = (
    op: string,
    encode: (work: ReturnType<typeof qfp.beginWork>) => void,
    extra: Partial<SuiteCase> = {},
  ): SuiteCase => ({
    op,
    backend: 'webgpu',
    n: cols,
    shape: `rows=${rows} reps=${reps}`,
    bytes: 2 * bytes * reps,
    fn: async () => {
      const work = qfp.beginWork(device);
      for (let r = 0; r < reps; r++) encode(work);
      qfp.submitWork(work);
      await device.queue.onSubmittedWorkDone();
    },
    time: ctx.quick || slow ? 100 : 1000,
    iterations: ctx.quick || slow ? 2 : 10,
    baseline: 'webgpu-copy',
    ...extra,
  });
  try {
    const copy = await measureCases('quant', localCtx, [
      timed('copy', (w) => w.encoder.copyBufferToBuffer(x.buffer, 0, copyTo.buffer, 0, bytes)),
    ]);
    records.push(...copy);
    if (copy[0]?.gbps) localCtx.baselines.set('webgpu-copy', copy[0].gbps);
    const cases = SPECS.map(([name, spec]) =>
      timed(`fake-quant ${name}`, (w) => qfp.fakeQuantGpu(w, x, spec, out)),
    );
    records.push(...(await measureCases('quant', localCtx, cases)));
  } finally {
    for (const b of [x, out, copyTo]) core.destroyGpuMatrix(b);
  }
  records.push(...(await fusedGemmErrorRecords(ctx, localCtx, slow)));
  return records;
}

/** The fused GEMM-error path, rotation by @nq/hadamard's WebGPU FWHT and by a dense R (a GEMM). */
async function fusedGemmErrorRecords(
  ctx: SuiteContext,
  localCtx: SuiteContext,
  slow: boolean,
): Promise<BenchRecord[]> {
  const core = await import('@nq/core/webgpu');
  const qfp = await import('../../../packages/quant-fp/src/webgpu/index.js');
  const gpu = await core.getWebGPUDevice();
  const { device } = gpu;
  const [m, k, n] = slow ? [128, 256, 256] : ctx.quick ? [1024, 2048, 2048] : [4096, 8192, 8192];
  if (/h100|h200/i.test(gpu.adapterName)) localCtx.baselines.set('fp32-peak', 67_000);
  const spec: QuantSpec = { format: 'int', bits: 4, granularity: 'token' };
  const qa = qfp.gpuQuantizerFor(spec);
  const qw = qfp.gpuQuantizerFor(spec);
  let gx: ReturnType<typeof core.uploadMatrix> | null = null;
  let gw: ReturnType<typeof core.uploadMatrix> | null = null;
  let gr: ReturnType<typeof core.uploadMatrix> | null = null;
  // biome-ignore lint/suspicious/noExplicitAny: optional sibling package, loaded only when present
  let had: any = null;
  // biome-ignore lint/suspicious/noExplicitAny: see above
  let hadRot: any = null;
  const records: BenchRecord[] = [];
  try {
    gx = core.uploadMatrix(device, input(m, k, 2));
    gw = core.uploadMatrix(device, input(n, k, 3));
    try {
      had = await import('../../../packages/hadamard/src/webgpu/index.js');
      const spec0 = await import('../../../packages/hadamard/src/index.js');
      hadRot = await had.prepareRotationWebGPU(spec0.randomHadamard(k, 1));
    } catch (e) {
      ctx.log(`  quant: @nq/hadamard webgpu rotation unavailable (${(e as Error).message}); dense R only`);
    }
    // dense R: a Sylvester Hadamard / √k (the values only matter for not being trivial)
    const rd = new Float32Array(k * k);
    const inv = 1 / Math.sqrt(k);
    for (let i = 0; i < k; i++)
      for (let j = 0; j < k; j++) {
        let b = i & j;
        b ^= b >> 16;
        b ^= b >> 8;
        b ^= b >> 4;
        b ^= b >> 2;
        b ^= b >> 1;
        rd[i * k + j] = b & 1 ? -inv : inv;
      }
    gr = core.uploadMatrix(device, matrix(k, k, rd));
    await device.queue.onSubmittedWorkDone();
    const run = async (rotate: Parameters<typeof qfp.gemmErrorGpu>[3]) => {
      const owned: GPUBuffer[] = [];
      try {
        await qfp.gemmErrorGpu(qfp.beginWork(device), gx!, gw!, rotate, qa, qw, owned);
      } finally {
        for (const b of owned) b.destroy();
      }
    };
    const base = {
      backend: 'webgpu',
      n: k,
      shape: `m=${m} n=${n} k=${k}`,
      time: ctx.quick || slow ? 100 : 2000,
      iterations: ctx.quick || slow ? 2 : 5,
      baseline: 'fp32-peak',
      metric: 'gflops' as const,
    };
    const cases: SuiteCase[] = [
      { ...base, op: 'gemm-error-fused no-rotation w4a4-token', flops: 4 * m * n * k, fn: () => run(null) },
      {
        ...base,
        op: 'gemm-error-fused dense-R w4a4-token',
        flops: 4 * m * n * k + 2 * (m + n) * k * k,
        fn: () => run(gr!),
      },
    ];
    if (hadRot) {
      const rot = (work: ReturnType<typeof qfp.beginWork>, xm: ReturnType<typeof core.uploadMatrix>) => {
        const o = core.emptyGpuMatrix(device, xm.rows, xm.cols);
        had.encodeRotation(hadRot, xm, o, {}, work.encoder);
        return o;
      };
      cases.push({
        ...base,
        op: 'gemm-error-fused fwht(@nq/hadamard) w4a4-token',
        flops: 4 * m * n * k,
        fn: () => run(rot),
      });
    }
    records.push(...(await measureCases('quant', localCtx, cases)));
  } finally {
    for (const g of [gx, gw, gr]) if (g) core.destroyGpuMatrix(g);
    hadRot?.destroy();
  }
  return records;
}

async function gpujsRecords(ctx: SuiteContext): Promise<BenchRecord[]> {
  const mod = await import('../../../packages/quant-fp/src/gpujs/index.js');
  const [rows, cols] = ctx.quick ? [64, 1024] : [256, 4096];
  let x = matrix(1, 128, new Float32Array(128));
  const cases: SuiteCase[] = SPECS.filter(([name]) =>
    ['int4-token', 'int4-g128', 'nvfp4'].includes(name),
  ).map(([name, spec]) => ({
    op: `fake-quant ${name}`,
    backend: 'gpujs',
    n: cols,
    shape: `rows=${rows} mode=webasm`,
    bytes: 2 * rows * cols * 4,
    setup: () => {
      if (x.rows !== rows) x = input(rows, cols, 1);
    },
    fn: () => mod.fakeQuantGpuJs(x, spec, 'webasm'),
    time: 200,
    iterations: 3,
    baseline: 'triad-all',
  }));
  return measureCases('quant', ctx, cases);
}

const suite: Suite = {
  name: 'quant',
  description:
    'Quantizers (INT, FP8, NVFP4, MXFP4): fake-quant/quantize GB/s per backend and granularity; fused rotate→quantize→GEMM-error GFLOP/s',
  async run(ctx) {
    const records: BenchRecord[] = [];
    if (!ctx.backend || ctx.backend === 'cpu')
      records.push(...(await measureCases('quant', ctx, cpuCases(ctx))));
    if (!ctx.backend || ctx.backend === 'webgpu') records.push(...(await webgpuRecords(ctx)));
    if (!ctx.backend || ctx.backend === 'gpujs') records.push(...(await gpujsRecords(ctx)));
    return records;
  },
};

export default suite;
