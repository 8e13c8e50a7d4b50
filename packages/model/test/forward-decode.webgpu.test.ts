import { type Matrix, Rng } from '@nq/core';
import {
  createStorageBuffer,
  createUniformBuffer,
  dispatch,
  type GpuMatrix,
  getPipeline,
} from '@nq/core/webgpu';
import { describe, expect, it } from 'vitest';
import {
  createKvCache,
  forward,
  generateGreedy,
  loadLlama2c,
  onlineRotateDown,
  randomModel,
  randomOrthogonal,
  TINY_CONFIG,
} from '../src/index.js';
import {
  createGpuKvCache,
  forwardWebGPU,
  type GpuForwardHooks,
  type GpuWork,
  generateGreedyWebGPU,
  MATMUL_WGSL,
  uploadModel,
} from '../src/webgpu/index.js';
import { HAVE_NQ5M, NQ5M_BIN, NQ5M_SKIP_REASON, readRef, relErr } from './helpers/shared.js';

// KV-cache decoding, the model's online rotation and GPU hooks on the WebGPU forward, each against
// the CPU forward doing the same thing (CPU decode with its KvCache, CPU replaceLinear/quantizeKv
// hooks). Tolerance: float32 accumulated in a different order, ≤ 1e-5 relative on a tiny model.

const CFG = { ...TINY_CONFIG, vocabSize: 70 };

describe('WebGPU forward: KV cache, online rotation, hooks', () => {
  it('prefill 9 tokens then 6 one-token decode steps: each step matches the CPU cached decode', async () => {
    const model = randomModel(CFG, 21);
    const r = new Rng(5);
    const ids = Array.from({ length: 15 }, () => r.int(70));
    const gm = await uploadModel(model);
    const gc = createGpuKvCache(gm, 32);
    const cc = createKvCache(model.config, 32);
    try {
      const g0 = await forwardWebGPU(gm, ids.slice(0, 9), { cache: gc, lastOnly: true });
      const c0 = forward(model, ids.slice(0, 9), { cache: cc, lastOnly: true });
      expect([g0.rows, g0.cols]).toEqual([1, 70]);
      expect(relErr(g0.data, c0.data)).toBeLessThan(1e-5);
      let worst = 0;
      for (let i = 9; i < 15; i++) {
        const g = await forwardWebGPU(gm, [ids[i]!], { cache: gc, lastOnly: true });
        const c = forward(model, [ids[i]!], { cache: cc, lastOnly: true });
        worst = Math.max(worst, relErr(g.data, c.data));
      }
      expect(gc.length).toBe(15);
      expect(worst).toBeLessThan(1e-5);
      // The last decode step's logits equal the last row of a full 15-token prefill (no cache).
      const full = forward(model, ids);
      const last = await forwardWebGPU(gm, ids, { lastOnly: true });
      expect(relErr(last.data, full.data.subarray(14 * 70))).toBeLessThan(1e-5);
      // A chunk that overflows the cache is a typed error, and the cache is left as it was.
      await expect(forwardWebGPU(gm, new Array(18).fill(1), { cache: gc })).rejects.toThrow(
        /overflow the cache/,
      );
      expect(gc.length).toBe(15);
    } finally {
      gc.destroy();
      gm.destroy();
    }
  });

  it('online rotation before down_proj (onlineRotateDown) matches the CPU forward', async () => {
    const model = onlineRotateDown(randomModel(CFG, 22), randomOrthogonal(CFG.hiddenDim, 3));
    const r = new Rng(6);
    const ids = Array.from({ length: 13 }, () => r.int(70));
    const gm = await uploadModel(model);
    try {
      const e = relErr((await forwardWebGPU(gm, ids)).data, forward(model, ids).data);
      expect(e).toBeLessThan(1e-5);
    } finally {
      gm.destroy();
    }
  });

  it('linearInput and kvRows hooks: same logits as the equivalent CPU replaceLinear / quantizeKv hooks', async () => {
    const model = randomModel(CFG, 23);
    const r = new Rng(7);
    const ids = Array.from({ length: 11 }, () => r.int(70));
    // Hook: scale down_proj's input by 0.5 and every V row by −2 (exact in float32 on both sides).
    const cpu = forward(model, ids, {
      hooks: {
        replaceLinear: (_l, name, x, w) => {
          if (name !== 'down') return undefined;
          return naiveMatmulT({ rows: x.rows, cols: x.cols, data: x.data.map((v) => v * 0.5) }, w);
        },
        quantizeKv: (_l, kind, _h, _p, row) => {
          if (kind === 'v') for (let i = 0; i < row.length; i++) row[i] = row[i]! * -2;
        },
      },
    });
    const gm = await uploadModel(model);
    const half = createStorageBuffer(gm.device, diag(CFG.hiddenDim, 0.5));
    const hd = CFG.dim / CFG.nHeads;
    const minus2 = createStorageBuffer(gm.device, diag(hd, -2));
    const seen: string[] = [];
    // Scaling by a diagonal matrix through the forward pass's own GEMM kernel: x·Dᵀ.
    const scale = (x: GpuMatrix, d: GPUBuffer, work: GpuWork): GpuMatrix => {
      const out = createStorageBuffer(work.device, x.rows * x.cols * 4);
      const uni = createUniformBuffer(work.device, Uint32Array.from([x.rows, x.cols, x.cols, 0]));
      work.temps.push(out, uni);
      const grid: [number, number] = [Math.ceil(x.cols / 64), Math.ceil(x.rows / 64)];
      dispatch(
        work.device,
        getPipeline(work.device, MATMUL_WGSL),
        [uni, x.buffer, d, out],
        grid,
        work.encoder,
      );
      return { rows: x.rows, cols: x.cols, buffer: out };
    };
    const hooks: GpuForwardHooks = {
      linearInput: (l, group, x, work) => {
        seen.push(`${l}.${group}:${x.rows}x${x.cols}`);
        return group === 'down' ? scale(x, half, work) : undefined;
      },
      kvRows: (_l, kind, rows, work) => (kind === 'v' ? scale(rows, minus2, work) : undefined),
    };
    try {
      const gpu = await forwardWebGPU(gm, ids, { hooks });
      expect(relErr(gpu.data, cpu.data)).toBeLessThan(1e-5);
      expect(seen).toEqual(
        [0, 1].flatMap((l) => [`${l}.attn:11x32`, `${l}.o:11x32`, `${l}.ffn:11x32`, `${l}.down:11x48`]),
      );
      // A hook returning the wrong shape is a typed error naming the hooks.
      await expect(
        forwardWebGPU(gm, ids, { hooks: { linearInput: (_l, _g, x) => ({ ...x, cols: x.cols + 1 }) } }),
      ).rejects.toThrow(/hooks/);
    } finally {
      half.destroy();
      minus2.destroy();
      gm.destroy();
    }
  });

  it.skipIf(!HAVE_NQ5M)(
    `nq-docs-5M: greedy decoding with the GPU KV cache reproduces the shipped 40-token continuation (${HAVE_NQ5M ? 'present' : NQ5M_SKIP_REASON})`,
    async () => {
      const model = await loadLlama2c(NQ5M_BIN);
      const ref = readRef();
      const prompt = ref.ref_logits.prompt_ids.slice(0, 8);
      const gm = await uploadModel(model);
      try {
        const want = ref.greedy.ids;
        expect(await generateGreedyWebGPU(gm, want.slice(0, 3), want.length - 3)).toEqual(want);
        // Decode logits vs the CPU decode, 8 steps after an 8-token prefill.
        const cpuIds = generateGreedy(model, prompt, 8);
        const gpuIds2 = await generateGreedyWebGPU(gm, prompt, 8);
        expect(gpuIds2).toEqual(cpuIds);
      } finally {
        gm.destroy();
      }
    },
  );
});

function diag(n: number, v: number): Float32Array {
  const d = new Float32Array(n * n);
  for (let i = 0; i < n; i++) d[i * n + i] = v;
  return d;
}

/** x·wᵀ accumulated in float64, rounded to float32 (an independent GEMM). */
function naiveMatmulT(x: Matrix, w: Matrix): Matrix {
  const y = new Float32Array(x.rows * w.rows);
  for (let t = 0; t < x.rows; t++)
    for (let o = 0; o < w.rows; o++) {
      let s = 0;
      for (let i = 0; i < x.cols; i++) s += x.data[t * x.cols + i]! * w.data[o * w.cols + i]!;
      y[t * w.rows + o] = s;
    }
  return { rows: x.rows, cols: w.rows, data: y };
}
