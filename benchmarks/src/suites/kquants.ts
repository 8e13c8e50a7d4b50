import { Rng } from '@nq/core';
import type { BenchRecord } from '@nq/core/bench';
import { byteSize, dequantizeInto, type KnownFormat, quantize, quantizeInto } from '@nq/kquants';
import { dequantizeGpu } from '@nq/kquants/webgpu';
import { measureCases, type SuiteCase } from '../cases.js';
import type { Suite, SuiteContext } from '../suite.js';

/**
 * @nq/kquants on the CPU (one thread): dequantization (blocks → float32) and llama.cpp-exact
 * reference quantization (float32 → blocks) of 2^20 weights drawn from N(0, 0.02²) (2^16 with
 * --quick), for Q8_0, Q4_0, Q4_K, Q5_K, Q6_K. Bytes per pass = blocks read + float32 written
 * (dequantize) or float32 read + blocks written (quantize); ratio = GB/s ÷ 'triad-1t' from the same
 * run. Quantization of the K-quants runs llama.cpp's scale searches in float32 arithmetic (21 grids
 * per 32 weights for Q4_K, 19 per 16 for Q6_K), so it is compute-bound by design: its ratio says how
 * far from memory speed the exact search is.
 * webgpu: dequantization of GPU-resident blocks into a GPU buffer (Q8_0, Q4_K, Q6_K), one dispatch
 * per pass awaited to completion; ratio vs 'triad-all' (on the CPU adapter llvmpipe this measures
 * the CPU rasterizer, not a GPU).
 */
const TYPES: KnownFormat[] = ['Q8_0', 'Q4_0', 'Q4_K', 'Q5_K', 'Q6_K'];

function cases(quick: boolean): SuiteCase[] {
  const n = quick ? 1 << 16 : 1 << 20;
  const rng = new Rng(20261123);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.normal() * 0.02;
  const out: SuiteCase[] = [];
  for (const t of TYPES) {
    const size = byteSize(t, n);
    const blocks = new Uint8Array(size);
    quantizeInto(t, x, blocks);
    const y = new Float32Array(n);
    out.push({
      op: `dequantize ${t}`,
      backend: 'cpu',
      n,
      shape: `weights=${n}`,
      bytes: size + 4 * n,
      fn: () => dequantizeInto(t, blocks, n, y, 0),
    });
    const dst = new Uint8Array(size);
    out.push({
      op: `quantize ${t}`,
      backend: 'cpu',
      n,
      shape: `weights=${n}`,
      bytes: 4 * n + size,
      fn: () => quantizeInto(t, x, dst, 0),
      ...(t.endsWith('_K') ? { time: 200, iterations: 3 } : {}),
    });
  }
  return out;
}

function webgpuCases(quick: boolean): SuiteCase[] {
  const n = quick ? 1 << 16 : 1 << 20;
  const rng = new Rng(20261124);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.normal() * 0.02;
  return (['Q8_0', 'Q4_K', 'Q6_K'] as const).map((t): SuiteCase => {
    const size = byteSize(t, n);
    let device: GPUDevice | undefined;
    let src: GPUBuffer | undefined;
    let dst: GPUBuffer | undefined;
    let uniforms: GPUBuffer[] = [];
    return {
      op: `dequantize ${t}`,
      backend: 'webgpu',
      n,
      shape: `weights=${n}`,
      bytes: size + 4 * n,
      time: 200,
      iterations: 3,
      setup: async () => {
        const { getWebGPUDevice, createStorageBuffer } = await import('@nq/core/webgpu');
        device = (await getWebGPUDevice()).device;
        const blocks = quantize(t, x);
        const padded = new Uint8Array(Math.ceil(size / 4) * 4);
        padded.set(blocks);
        src = createStorageBuffer(device, padded);
        dst = createStorageBuffer(device, 4 * n);
      },
      fn: async () => {
        uniforms.push(dequantizeGpu(device!, t, src!, n, dst!));
        await device!.queue.onSubmittedWorkDone();
      },
      teardown: () => {
        src?.destroy();
        dst?.destroy();
        for (const u of uniforms) u.destroy();
        uniforms = [];
      },
    };
  });
}

const suite: Suite = {
  name: 'kquants',
  description: 'llama.cpp block formats: dequantize and exact reference quantize, GB/s vs triad-1t',
  async run(ctx: SuiteContext): Promise<BenchRecord[]> {
    return measureCases('kquants', ctx, [...cases(ctx.quick), ...webgpuCases(ctx.quick)]);
  },
};

export default suite;
