import { matmulABt, Rng } from '@nq/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createGemmPool, gemmABt, WasmGemm } from '../src/cpu/index.js';
import { gemmModule } from '../src/cpu/wasm/wasm-gemm.js';
import { createKvCache, forward, randomModel, releaseKvCache, TINY_CONFIG } from '../src/index.js';
import { relErr } from './helpers/shared.js';

const rng = new Rng(7);

function engine(): WasmGemm {
  const m = gemmModule();
  if (!m) throw new Error('WebAssembly SIMD with shared memory should be available in Node ≥ 20');
  return new WasmGemm(m);
}

describe("operands pinned in the GEMM kernel's memory", () => {
  it('pinned X and Y are used in place (results land in the pinned Y), mixed with ordinary arrays', () => {
    const g = engine();
    const [T, K, N] = [9, 64, 21];
    const xs = rng.normals(T * K);
    const ws = rng.normals(N * K);
    const ref = matmulABt({ rows: T, cols: K, data: xs }, { rows: N, cols: K, data: ws }).data;
    const x = g.pin(T * K);
    x.set(xs);
    const y = g.pin(T * N);
    const w = g.pin(N * K);
    w.set(ws);
    for (const [xx, ww, yy] of [
      [x, ws, y],
      [xs, w, y],
      [x, w, new Float32Array(T * N)],
      [x.subarray(0), ws, y.subarray(0)],
    ] as const) {
      yy.fill(Number.NaN);
      g.gemm(xx, T, K, ww, N, yy);
      expect(relErr(yy, ref)).toBeLessThan(1e-6);
    }
    // A pinned array survives the memory growing under it (a shared memory keeps its bytes).
    const before = Float32Array.from(x);
    g.pin(4 << 20); // 16 MiB more
    expect(Array.from(x)).toEqual(Array.from(before));
    g.gemm(x, T, K, ws, N, y);
    expect(relErr(y, ref)).toBeLessThan(1e-6);
  });

  it('unpinned and released regions are reused by allocations of the same size', () => {
    const g = engine();
    const a = g.pin(1000);
    const at = a.byteOffset;
    g.unpin(a);
    expect(g.pin(1000).byteOffset).toBe(at);
    expect(g.pin(1000).byteOffset).not.toBe(at);
    // Owned (cache-like) pins: more than the 4 GiB memory holds → null, nothing left pinned, and the
    // engine still works (sizes ≥ 2^31 bytes must not wrap around in the size arithmetic).
    const topBefore = g.arena.top;
    expect(g.pinOwned(2, 2 ** 30)).toBeNull(); // 2 × 4 GiB
    expect(g.arena.top).toBe(topBefore);
    const x = rng.normals(8 * 16);
    const w = rng.normals(4 * 16);
    const y = new Float32Array(8 * 4);
    g.gemm(x, 8, 16, w, 4, y);
    expect(
      relErr(y, matmulABt({ rows: 8, cols: 16, data: x }, { rows: 4, cols: 16, data: w }).data),
    ).toBeLessThan(1e-6);
    // Releasing the regions at the top brings top back down, free regions below them too.
    const owned = g.pinOwned(3, 1000)!;
    expect(owned.map((a) => a.length)).toEqual([1000, 1000, 1000]);
    for (const a of owned) g.unpin(a, true); // the first two go to the free list, the third lowers top past all three
    expect(g.arena.top).toBe(owned[0]!.byteOffset);
  });

  it('released KV caches give their memory back (top comes down) and are refused afterwards', () => {
    const g = engine();
    const m = randomModel({ ...TINY_CONFIG, vocabSize: 70 }, 3);
    const before = g.arena.top;
    for (let i = 0; i < 50; i++) {
      const cache = createKvCache(m.config, 64 + i, { gemm: g.gemm });
      forward(m, [1, 2, 3], { gemm: g.gemm, cache });
      releaseKvCache(cache);
    }
    // Only the workspace pinned by the first forward pass stays.
    const afterFirst = g.arena.top;
    const cache = createKvCache(m.config, 64, { gemm: g.gemm });
    releaseKvCache(cache);
    expect(g.arena.top).toBe(afterFirst);
    expect(afterFirst - before).toBeLessThan(1 << 20);
    expect(() => forward(m, [1], { gemm: g.gemm, cache })).toThrow(/released/);
  });
});

describe('forward pass with its activations pinned in the engine memory', () => {
  const pools: { close(): Promise<void> }[] = [];
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
  });
  const cfg = { ...TINY_CONFIG, vocabSize: 70 };
  const ids = (n: number) => Array.from({ length: n }, (_, i) => (i * 11 + 3) % cfg.vocabSize);

  it('equals the JS-kernel forward, across workspace growth (5 → 40 → 5 tokens) and on a 2-thread pool', async () => {
    const m = randomModel(cfg, 8);
    const g = engine();
    const pool = await createGemmPool({ threads: 2, minWork: 0 });
    pools.push(pool);
    for (const n of [5, 40, 5, 33]) {
      const ref = forward(m, ids(n), { gemm: gemmABt }).data;
      expect(relErr(forward(m, ids(n), { gemm: g.gemm }).data, ref), `${n} tokens`).toBeLessThan(1e-5);
      expect(relErr(forward(m, ids(n), { gemm: pool.gemm }).data, ref), `${n} tokens, pool`).toBeLessThan(
        1e-5,
      );
    }
  });

  it.each([
    [2, 'KV heads across threads'],
    [1, 'query-row ranges of one KV head across threads'],
  ])('element-wise kernels split over pool workers (SwiGLU ranges, norm rows, attention: %i KV heads, %s) give the single-thread result', async (nKvHeads) => {
    // Big enough that every kernel splits on 3 threads: SwiGLU 300·512 values, norms 300·256.
    const big = randomModel(
      { ...TINY_CONFIG, dim: 256, nHeads: 8, nKvHeads, hiddenDim: 512, vocabSize: 70, seqLen: 512 },
      12,
    );
    const pool = await createGemmPool({ threads: 3 });
    pools.push(pool);
    const g = engine();
    const one = forward(big, ids(300), { gemm: g.gemm }).data;
    expect(relErr(forward(big, ids(300), { gemm: pool.gemm }).data, one)).toBeLessThan(1e-6);
    expect(relErr(one, forward(big, ids(300), { gemm: gemmABt }).data)).toBeLessThan(1e-5);
  });

  it('a pool handles element-wise work smaller than one SIMD step (SwiGLU of 4 values: JS tail only)', async () => {
    const m = randomModel({ ...TINY_CONFIG, hiddenDim: 4, vocabSize: 70 }, 14);
    const pool = await createGemmPool({ threads: 2, minWork: 0 });
    pools.push(pool);
    expect(
      relErr(forward(m, [5], { gemm: pool.gemm }).data, forward(m, [5], { gemm: gemmABt }).data),
    ).toBeLessThan(1e-5);
  });

  it('a KV cache pinned in the engine memory (createKvCache(..., { gemm })) decodes like an ordinary one', async () => {
    const m = randomModel(cfg, 13);
    const pool = await createGemmPool({ threads: 2, minWork: 0 });
    pools.push(pool);
    const pinnedCache = createKvCache(m.config, 48, { gemm: pool.gemm });
    const plainCache = createKvCache(m.config, 48);
    expect(pinnedCache.k[0]!.buffer).not.toBe(plainCache.k[0]!.buffer);
    expect(pinnedCache.k[0]!.buffer.constructor.name).toBe('SharedArrayBuffer');
    const prompt = ids(20);
    const a = forward(m, prompt, { gemm: pool.gemm, cache: pinnedCache, lastOnly: true });
    const b = forward(m, prompt, { gemm: gemmABt, cache: plainCache, lastOnly: true });
    expect(relErr(a.data, b.data)).toBeLessThan(1e-5);
    for (const t of [4, 9, 1, 33]) {
      const x = forward(m, [t], { gemm: pool.gemm, cache: pinnedCache, lastOnly: true });
      const y = forward(m, [t], { gemm: gemmABt, cache: plainCache, lastOnly: true });
      expect(relErr(x.data, y.data), `token ${t}`).toBeLessThan(1e-5);
    }
    expect(pinnedCache.length).toBe(24);
    // Without an engine behind the GEMM (the JS kernel) the cache is an ordinary array.
    expect(createKvCache(m.config, 8, { gemm: gemmABt }).k[0]!.buffer.constructor.name).toBe('ArrayBuffer');
  });

  it('a forward pass nested in a hook (same shape, same engine) does not clobber the outer one', () => {
    const outer = randomModel(cfg, 9);
    const inner = randomModel(cfg, 10);
    const g = engine();
    const ref = forward(outer, ids(24), { gemm: gemmABt }).data;
    const innerRef = forward(inner, ids(12), { gemm: gemmABt }).data;
    let nested = 0;
    const got = forward(outer, ids(24), {
      gemm: g.gemm,
      hooks: {
        replaceLinear: (layer, name) => {
          if (layer === 0 && name === 'up') {
            const r = forward(inner, ids(12), { gemm: g.gemm }).data;
            expect(relErr(r, innerRef)).toBeLessThan(1e-5);
            nested++;
          }
          return undefined;
        },
      },
    }).data;
    expect(nested).toBe(1);
    expect(relErr(got, ref)).toBeLessThan(1e-5);
  });
});
