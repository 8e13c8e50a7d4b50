import { matmulABt, NqBackendError, NqInputError, Rng } from '@nq/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createGemmPool, defaultWasmGemm, gemmABt, residentWeights } from '../src/cpu/index.js';
import { createKvCache, forward, randomModel, TINY_CONFIG } from '../src/index.js';
import { relErr } from './helpers/shared.js';

const rng = new Rng(99);
const SHAPES: [number, number, number][] = [
  [1, 8, 5],
  [3, 12, 7],
  [4, 16, 2],
  [5, 32, 9],
  [17, 20, 13],
  [33, 64, 48],
  [9, 6, 4], // K not a multiple of 4: the SIMD path hands over to the JS kernel
  [9, 2048, 21], // K = 2048: 8 weight rows per cache block (default 16384 floats), so 3 blocks with edges
];

function check(
  gemm: (x: Float32Array, T: number, K: number, w: Float32Array, N: number, y: Float32Array) => void,
): void {
  for (const [T, K, N] of SHAPES) {
    const x = { rows: T, cols: K, data: rng.normals(T * K) };
    const w = { rows: N, cols: K, data: rng.normals(N * K) };
    const y = new Float32Array(T * N).fill(Number.NaN);
    gemm(x.data, T, K, w.data, N, y);
    expect(relErr(y, matmulABt(x, w).data), `T=${T} K=${K} N=${N}`).toBeLessThan(1e-6);
  }
}

describe('GEMM kernels (Y = X·Wᵀ) against the plain product', () => {
  it('JS 4×4-tile kernel, including leftover rows/columns and a column slice', () => {
    check(gemmABt);
    // Column slice [3, 9) of a 13-wide output leaves the rest untouched.
    const x = rng.normals(5 * 8);
    const w = rng.normals(13 * 8);
    const y = new Float32Array(5 * 13).fill(7);
    gemmABt(x, 5, 8, w, 13, y, 3, 9);
    const full = matmulABt({ rows: 5, cols: 8, data: x }, { rows: 13, cols: 8, data: w }).data;
    for (let t = 0; t < 5; t++)
      for (let n = 0; n < 13; n++) {
        if (n >= 3 && n < 9) expect(Math.abs(y[t * 13 + n]! - full[t * 13 + n]!)).toBeLessThan(1e-5);
        else expect(y[t * 13 + n]).toBe(7);
      }
  });

  it('WebAssembly SIMD kernel (run-time generated module)', () => {
    const g = defaultWasmGemm();
    expect(g, 'WebAssembly SIMD + shared memory should be available in Node ≥ 20').not.toBeNull();
    check(g!.gemm);
  });

  describe('worker-thread pool', () => {
    const pools: { close(): Promise<void> }[] = [];
    afterAll(async () => {
      await Promise.all(pools.map((p) => p.close()));
    });

    it('2 threads (split forced with minWork 0) give the same products and the same logits', async () => {
      const pool = await createGemmPool({ threads: 2, minWork: 0 });
      pools.push(pool);
      expect(pool.threads).toBe(2);
      check(pool.gemm);
      const m = randomModel({ ...TINY_CONFIG, vocabSize: 70 }, 4);
      const ids = Array.from({ length: 23 }, (_, i) => (i * 7) % 70);
      expect(
        relErr(forward(m, ids, { gemm: pool.gemm }).data, forward(m, ids, { gemm: gemmABt }).data),
      ).toBeLessThan(1e-6);
    });

    it('resident weights: same products as copying, unregistered arrays always copied, a kept weight modified in place is seen after clearResidentWeights()', async () => {
      for (const threads of [1, 3]) {
        const pool = await createGemmPool({ threads, minWork: 0 });
        pools.push(pool);
        const T = 9;
        const K = 256;
        const N = 300;
        const x = rng.normals(T * K);
        const w = rng.normals(N * K);
        const w2 = rng.normals(N * K);
        const ref = (wm: Float32Array) =>
          matmulABt({ rows: T, cols: K, data: x }, { rows: N, cols: K, data: wm }).data;
        const y = new Float32Array(T * N);
        pool.keepResident([w, { data: w2 }]);
        // A scratch array reused with new contents (not kept): must be re-read on every call.
        const scratch = new Float32Array(N * K);
        for (let rep = 0; rep < 2; rep++) {
          scratch.set(rep ? w2 : w);
          pool.gemm(x, T, K, scratch, N, y);
          expect(relErr(y, ref(rep ? w2 : w)), `threads=${threads} rep ${rep} scratch`).toBeLessThan(1e-6);
          // Interleave two resident weights and a small copied one: offsets must not collide.
          pool.gemm(x, T, K, w, N, y);
          expect(relErr(y, ref(w)), `threads=${threads} rep ${rep} w`).toBeLessThan(1e-6);
          pool.gemm(x, T, K, w2, N, y);
          expect(relErr(y, ref(w2)), `threads=${threads} rep ${rep} w2`).toBeLessThan(1e-6);
          check(pool.gemm);
        }
        // Decode-sized calls (T < 4) on kept weights run in the SIMD kernel too.
        for (const t of [1, 2, 3]) {
          const yt = new Float32Array(t * N);
          pool.gemm(x, t, K, w, N, yt);
          const rt = matmulABt(
            { rows: t, cols: K, data: x.subarray(0, t * K) },
            { rows: N, cols: K, data: w },
          ).data;
          expect(relErr(yt, rt), `threads=${threads} T=${t}`).toBeLessThan(1e-6);
        }
        const before = ref(w);
        w.set(w2);
        pool.gemm(x, T, K, w, N, y);
        // The contract: an in-place change is not seen until clearResidentWeights().
        expect(relErr(y, before)).toBeLessThan(1e-6);
        pool.clearResidentWeights();
        pool.gemm(x, T, K, w, N, y);
        expect(relErr(y, ref(w2))).toBeLessThan(1e-6);
      }
    });

    it('resident weights: forward gives the same logits as the default path', async () => {
      const pool = await createGemmPool({ threads: 2 });
      pools.push(pool);
      const m = randomModel(
        { ...TINY_CONFIG, dim: 256, hiddenDim: 512, nHeads: 4, nKvHeads: 2, vocabSize: 300 },
        9,
      );
      const ids = Array.from({ length: 40 }, (_, i) => (i * 13) % 300);
      pool.keepResident(residentWeights(m));
      const ref = forward(m, ids, { gemm: gemmABt }).data;
      for (let rep = 0; rep < 2; rep++)
        expect(relErr(forward(m, ids, { gemm: pool.gemm }).data, ref)).toBeLessThan(1e-5);
      // Decode (one token at a time through the KV cache): kept weights take the SIMD path at T = 1.
      const cache = createKvCache(m.config, ids.length);
      for (let t = 0; t < ids.length; t++) {
        const step = forward(m, [ids[t]!], { gemm: pool.gemm, cache, lastOnly: true }).data;
        expect(relErr(step, ref.subarray(t * 300, (t + 1) * 300)), `position ${t}`).toBeLessThan(1e-5);
      }
    });

    it('a closed pool throws NqBackendError at once instead of waiting for its workers', async () => {
      const pool = await createGemmPool({ threads: 2, minWork: 0 });
      await pool.close();
      const x = rng.normals(8 * 8);
      expect(() => pool.gemm(x, 8, 8, x, 8, new Float32Array(64))).toThrow(/pool was closed/);
      expect(() => pool.gemm(x, 8, 8, x, 8, new Float32Array(64))).toThrow(NqBackendError);
    });

    it('rejects a bad thread count', async () => {
      await expect(createGemmPool({ threads: 0 })).rejects.toBeInstanceOf(NqInputError);
    });
  });
});
