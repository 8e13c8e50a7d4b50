import { type Matrix, Rng } from '@nq/core';
import type { BenchRecord } from '@nq/core/bench';
import { fakeQuant, type QuantSpec } from '@nq/quant-fp';
import { awqSearch, hessianDiagScales, scaleWeight } from '@nq/rescale';
import { measureCases, type SuiteCase } from '../cases.js';
import type { Suite, SuiteContext } from '../suite.js';

/**
 * @nq/rescale on cpu and webgpu, the same shapes in the same run:
 *  - scaleWeight W·diag(s) (cpu; 4 bytes read + 4 written per weight);
 *  - channel statistics (max|x|, mean|x|, mean x² per channel: the Hessian diagonal) of T tokens ×
 *    n channels — cpu = the host accumulation of collectInputStats, webgpu = channelStatsWebGPU
 *    (upload + kernel + read-back of the partials; bytes = T·n·4 read);
 *  - AWQ's grid search, one layer input (T calibration rows × n) against its weights (out × n), 5
 *    exponents, INT4 g128 asymmetric weights: flops = 2 GEMMs' worth (X·Wᵀ and the quantized product)
 *    per exponent = 4·T·n·out·5 (the CPU computes X·Wᵀ once: its true flops are ~60 % of that).
 * Shapes: nq-docs-5M's attention input (n = 256, q|k|v = 384 rows) and a 7B-sized one (n = 4096,
 * out = 4096, T = 2048; webgpu only in full mode — the CPU would take minutes per α).
 * `--backend webgpu` measures the CPU rows too (the same-run reference for `speedup_vs_cpu`).
 */

const W4G128: QuantSpec = { format: 'int', bits: 4, granularity: 'group', groupSize: 128, symmetric: false };
const GRID = [0, 0.25, 0.5, 0.75, 1];

function activations(T: number, n: number, seed: number): Matrix {
  const rng = new Rng(seed);
  const x = { rows: T, cols: n, data: rng.normals(T * n) };
  for (let i = 0; i < 4; i++) {
    const ch = rng.int(n);
    for (let t = 0; t < T; t++) x.data[t * n + ch]! *= 20;
  }
  return x;
}

/** The CPU's statistics loop (as collectInputStats accumulates each captured input). */
function channelStatsCpu(x: Matrix): { maxAbs: Float32Array; sumAbs: Float64Array; sumSq: Float64Array } {
  const n = x.cols;
  const maxAbs = new Float32Array(n);
  const sumAbs = new Float64Array(n);
  const sumSq = new Float64Array(n);
  for (let t = 0; t < x.rows; t++) {
    const o = t * n;
    for (let j = 0; j < n; j++) {
      const v = x.data[o + j]!;
      const a = Math.abs(v);
      if (a > maxAbs[j]!) maxAbs[j] = a;
      sumAbs[j] += a;
      sumSq[j] += v * v;
    }
  }
  return { maxAbs, sumAbs, sumSq };
}

interface Shape {
  T: number;
  n: number;
  out: number;
  gpuOnly: boolean;
}

function shapes(quick: boolean): Shape[] {
  if (quick) return [{ T: 256, n: 256, out: 384, gpuOnly: false }];
  return [
    { T: 2048, n: 256, out: 384, gpuOnly: false },
    { T: 2048, n: 4096, out: 4096, gpuOnly: true },
  ];
}

async function webgpuMachine(ctx: SuiteContext): Promise<string> {
  try {
    const { getWebGPUDevice } = await import('@nq/core/webgpu');
    return `${(await getWebGPUDevice()).adapterName} (webgpu)`;
  } catch {
    return `webgpu (no adapter) on ${ctx.machine}`;
  }
}

const suite: Suite = {
  name: 'rescale',
  description: '@nq/rescale: weight rescale, channel statistics and AWQ search on cpu and webgpu',
  async run(ctx) {
    const cases: SuiteCase[] = [];
    const wantCpu = !ctx.backend || ctx.backend === 'cpu' || ctx.backend === 'webgpu';
    const wantGpu = !ctx.backend || ctx.backend === 'webgpu';
    if (wantCpu) {
      const wshapes: [number, number][] = ctx.quick
        ? [[256, 256]]
        : [
            [256, 256],
            [4096, 4096],
          ];
      for (const [rows, cols] of wshapes) {
        const w = { rows, cols, data: new Rng(rows).normals(rows * cols) };
        const s = hessianDiagScales(
          Float64Array.from({ length: cols }, (_, j) => 1 + (j % 7)),
          0.2,
        );
        cases.push({
          op: 'scaleWeight',
          backend: 'cpu',
          n: rows * cols,
          shape: `${rows}×${cols}`,
          bytes: 8 * rows * cols,
          time: ctx.quick ? 100 : 500,
          fn: () => scaleWeight(w, s),
        });
      }
    }
    const machine = wantGpu ? await webgpuMachine(ctx) : ctx.machine;
    for (const sh of shapes(ctx.quick)) {
      const x = activations(sh.T, sh.n, sh.n + 1);
      const ws = [{ rows: sh.out, cols: sh.n, data: new Rng(sh.n + 2).normals(sh.out * sh.n, 0, 0.05) }];
      const meanAbs = new Float64Array(sh.n);
      for (let t = 0; t < sh.T; t++)
        for (let j = 0; j < sh.n; j++) meanAbs[j] += Math.abs(x.data[t * sh.n + j]!) / sh.T;
      const statShape = `${sh.T}×${sh.n}`;
      const awqShape = `${sh.T}×${sh.n} → ${sh.out}, ${GRID.length} α, W4 g128`;
      const awqFlops = 4 * sh.T * sh.n * sh.out * GRID.length;
      const time = ctx.quick ? 100 : 1000;
      if (wantCpu && !sh.gpuOnly) {
        cases.push({
          op: 'channelStats',
          backend: 'cpu',
          n: sh.T * sh.n,
          shape: statShape,
          bytes: 4 * sh.T * sh.n,
          time,
          fn: () => channelStatsCpu(x),
        });
        cases.push({
          op: 'awqSearch',
          backend: 'cpu',
          n: sh.T * sh.n,
          shape: awqShape,
          flops: awqFlops,
          metric: 'gflops',
          time,
          iterations: 2,
          fn: () => awqSearch(x, ws, meanAbs, { quantizeWeight: (w) => fakeQuant(w, W4G128), grid: GRID }),
        });
      }
      if (wantGpu) {
        let mod: typeof import('@nq/rescale/webgpu') | null = null;
        const load = async () => {
          mod ??= await import('@nq/rescale/webgpu');
          return mod;
        };
        cases.push({
          op: 'channelStats',
          backend: 'webgpu',
          n: sh.T * sh.n,
          shape: `${statShape} (upload + kernel + read-back)`,
          bytes: 4 * sh.T * sh.n,
          machine,
          time,
          setup: async () => (await load()).channelStatsWebGPU(x),
          fn: () => mod!.channelStatsWebGPU(x),
        });
        cases.push({
          op: 'awqSearch',
          backend: 'webgpu',
          n: sh.T * sh.n,
          shape: awqShape,
          flops: awqFlops,
          metric: 'gflops',
          machine,
          time,
          iterations: 3,
          setup: async () =>
            (await load()).awqSearchWebGPU(x, ws, meanAbs, { weight: W4G128, grid: GRID.slice(0, 2) }),
          fn: () => mod!.awqSearchWebGPU(x, ws, meanAbs, { weight: W4G128, grid: GRID }),
        });
      }
    }
    const records: BenchRecord[] = await measureCases('rescale', { ...ctx, backend: undefined }, cases);
    // speedup_vs_cpu on the webgpu rows whose (op, shape) the CPU also ran.
    const cpuMs = new Map<string, number>();
    for (const r of records)
      if (r.backend === 'cpu' && r.median_ms > 0)
        cpuMs.set(`${r.op}|${String(r.shape).split(' (')[0]}`, r.median_ms);
    for (const r of records) {
      if (r.backend !== 'webgpu' || !(r.median_ms > 0)) continue;
      const c = cpuMs.get(`${r.op}|${String(r.shape).split(' (')[0]}`);
      if (c) {
        r.speedup_vs_cpu = c / r.median_ms;
        ctx.log(`rescale ${r.op} ${r.shape}: webgpu ${(c / r.median_ms).toFixed(1)}× cpu`);
      }
    }
    return records;
  },
};

export default suite;
