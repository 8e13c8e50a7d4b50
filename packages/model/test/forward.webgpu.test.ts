import { Rng } from '@nq/core';
import { getWebGPUDevice } from '@nq/core/webgpu';
import { describe, expect, it } from 'vitest';
import { forward, loadLlama2c, randomModel, readNpy, TINY_CONFIG } from '../src/index.js';
import { ATTENTION_TILE, createGpuKvCache, forwardWebGPU, uploadModel } from '../src/webgpu/index.js';
import { HAVE_NQ5M, NQ5M_BIN, NQ5M_REF_LOGITS, NQ5M_SKIP_REASON, readRef, relErr } from './helpers/shared.js';

// WebGPU forward vs the CPU reference. On CI this runs on Mesa's llvmpipe (slow), so inputs stay
// small: a tiny random model (non-multiple-of-64 sizes exercise the GEMM's tile edges) and 16
// positions of nq-docs-5M. Tolerance: float32 accumulation in a different order → ≤ 1e-5 relative
// on the tiny model, ≤ 1e-4 (the project's model tolerance) against the PyTorch reference.
describe('WebGPU forward', () => {
  it('tiny random model (dim 32, GQA 4/2, hidden 48, vocab 70): logits match the CPU forward', async () => {
    const { adapterName } = await getWebGPUDevice();
    const model = randomModel({ ...TINY_CONFIG, vocabSize: 70 }, 17);
    const r = new Rng(3);
    const ids = Array.from({ length: 19 }, () => r.int(70));
    const gm = await uploadModel(model);
    try {
      const gpu = await forwardWebGPU(gm, ids);
      const cpu = forward(model, ids);
      expect([gpu.rows, gpu.cols]).toEqual([19, 70]);
      const e = relErr(gpu.data, cpu.data);
      console.log(`webgpu (${adapterName}) tiny model rel err ${e.toExponential(2)}`);
      expect(e).toBeLessThan(1e-5);
      await expect(forwardWebGPU(gm, [1, 70])).rejects.toThrow(/tokens\[1\]/);
    } finally {
      gm.destroy();
    }
  });

  it(`context longer than one attention tile (${ATTENTION_TILE} positions): online softmax across tiles = the CPU forward`, async () => {
    // 1,100 positions: the last queries see two tiles. Prefill in two chunks through a KV cache
    // (1,000 then 100 tokens), so tiles also straddle the cached and the new rows.
    const cfg = { ...TINY_CONFIG, vocabSize: 70, seqLen: 1200 };
    const model = randomModel(cfg, 23);
    const r = new Rng(5);
    const ids = Array.from({ length: 1100 }, () => r.int(70));
    const gm = await uploadModel(model);
    try {
      const cache = createGpuKvCache(gm, 1100);
      await forwardWebGPU(gm, ids.slice(0, 1000), { cache });
      const gpu = await forwardWebGPU(gm, ids.slice(1000), { cache });
      const cpu = forward(model, ids).data.subarray(1000 * 70);
      expect(relErr(gpu.data, cpu)).toBeLessThan(1e-5);
      cache.destroy();
    } finally {
      gm.destroy();
    }
  });

  it.skipIf(!HAVE_NQ5M)(
    `nq-docs-5M, first 16 reference positions: ≤ 1e-4 relative to the PyTorch logits (${HAVE_NQ5M ? 'present' : NQ5M_SKIP_REASON})`,
    async () => {
      const model = await loadLlama2c(NQ5M_BIN);
      const ids = readRef().ref_logits.prompt_ids.slice(0, 16);
      const ref = (readNpy(NQ5M_REF_LOGITS).data as Float32Array).subarray(0, 16 * 4096);
      const gm = await uploadModel(model);
      try {
        const gpu = await forwardWebGPU(gm, ids);
        expect(relErr(gpu.data, ref)).toBeLessThan(1e-4);
      } finally {
        gm.destroy();
      }
    },
  );
});
