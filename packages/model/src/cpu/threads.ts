import { NqBackendError, NqInputError } from '@nq/core';
import { gemmABt } from './gemm.js';
import { gemmModule, runKernel, WasmGemm, WEIGHT_BLOCK_FLOATS } from './wasm/wasm-gemm.js';

/**
 * GEMM on several threads: the main thread and (threads − 1) worker_threads share the SIMD
 * kernel's memory; each computes a slice of the output columns. Synchronisation is two Atomics
 * counters per worker (no messages, no promises), so `forward` stays synchronous. Problems smaller
 * than `minWork` multiply-adds run on the main thread alone: waking a worker costs tens of µs.
 *
 * Node only (worker_threads). Call `close()` when done; the workers are unref'd, so a forgotten pool
 * does not keep the process alive.
 */
export interface GemmPool {
  readonly threads: number;
  /** The GemmFn to pass as `forward(model, tokens, { gemm: pool.gemm })`. */
  readonly gemm: (x: Float32Array, T: number, K: number, w: Float32Array, N: number, y: Float32Array) => void;
  close(): Promise<void>;
}

// Control block per worker (Int32): [seq, done, xp, wp, yp, T, K, n0, n1, ldy]
const CTRL = 10;

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, ctrl, index, blockFloats } = workerData;
const k = new WebAssembly.Instance(module, { env: { memory } }).exports;
const c = new Int32Array(ctrl, index * ${CTRL} * 4, ${CTRL});
const TR = 4, NR = 2;
let seen = 0;
for (;;) {
  Atomics.wait(c, 0, seen);
  seen = Atomics.load(c, 0);
  if (seen < 0) break;
  const xp = c[2], wp = c[3], yp = c[4], T = c[5], K = c[6], n0 = c[7], n1 = c[8], ldy = c[9];
  // Same blocking as runKernel in wasm/wasm-gemm.ts.
  const nb = Math.max(8, Math.floor(blockFloats / K) & ~7);
  for (let b0 = n0; b0 < n1; b0 += nb) {
    const b1 = Math.min(n1, b0 + nb);
    const tm = T - (T % TR);
    const nm = b0 + ((b1 - b0) - ((b1 - b0) % NR));
    if (tm > 0 && nm > b0) k.gemm_4x2(xp, wp, yp, 0, tm, b0, nm, K, ldy);
    if (tm < T && nm > b0) k.gemm_1x2(xp, wp, yp, tm, T, b0, nm, K, ldy);
    if (tm > 0 && nm < b1) k.gemm_4x1(xp, wp, yp, 0, tm, nm, b1, K, ldy);
    if (tm < T && nm < b1) k.gemm_1x1(xp, wp, yp, tm, T, nm, b1, K, ldy);
  }
  Atomics.store(c, 1, seen);
  Atomics.notify(c, 1);
}
`;

class ThreadedGemm extends WasmGemm {
  private readonly ctrl: Int32Array;
  constructor(
    module: WebAssembly.Module,
    private readonly nWorkers: number,
    readonly minWork: number,
  ) {
    super(module);
    this.ctrl = new Int32Array(new SharedArrayBuffer(nWorkers * CTRL * 4));
  }
  get ctrlBuffer(): SharedArrayBuffer {
    return this.ctrl.buffer as SharedArrayBuffer;
  }

  override gemm = (
    x: Float32Array,
    T: number,
    K: number,
    w: Float32Array,
    N: number,
    y: Float32Array,
  ): void => {
    if (T < 4 || K % 4 !== 0) {
      gemmABt(x, T, K, w, N, y);
      return;
    }
    const [xp, wp, yp] = this.stage(x, T, K, w, N);
    const parts = T * N * K < this.minWork ? 1 : this.nWorkers + 1;
    // Column slices aligned to 4 so every slice but the last uses whole 4×2 tiles.
    const step = Math.ceil(N / parts / 4) * 4;
    const c = this.ctrl;
    let started = 0;
    for (let p = 1; p < parts; p++) {
      const n0 = Math.min(N, p * step);
      const n1 = Math.min(N, (p + 1) * step);
      if (n0 >= n1) break;
      const o = (p - 1) * CTRL;
      c[o + 2] = xp;
      c[o + 3] = wp;
      c[o + 4] = yp;
      c[o + 5] = T;
      c[o + 6] = K;
      c[o + 7] = n0;
      c[o + 8] = n1;
      c[o + 9] = N;
      const seq = c[o]! + 1;
      Atomics.store(c, o, seq);
      Atomics.notify(c, o);
      started = p;
    }
    runKernel(this.kernel, xp, wp, yp, T, K, 0, Math.min(N, step), N);
    for (let p = 1; p <= started; p++) {
      const o = (p - 1) * CTRL;
      const seq = c[o]!;
      while (Atomics.load(c, o + 1) !== seq) Atomics.wait(c, o + 1, Atomics.load(c, o + 1));
    }
    this.unstage(y, yp, T, N);
  };
}

/** A GEMM engine on `threads` threads (1 = main thread only, SIMD if available). */
export async function createGemmPool(
  options: { threads?: number; minWork?: number } = {},
): Promise<GemmPool> {
  const threads = options.threads ?? 2;
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw new NqInputError(
      'threads',
      `must be an integer in [1, 64], got ${threads}`,
      'Pass the number of CPU threads to use (os.availableParallelism()).',
    );
  }
  const module = gemmModule();
  if (!module) {
    if (threads > 1)
      throw new NqBackendError(
        'cpu',
        'WebAssembly SIMD with shared memory is not available here, so GEMM cannot use worker threads',
      );
    return { threads: 1, gemm: gemmABt, close: async () => {} };
  }
  if (threads === 1) {
    const g = new WasmGemm(module);
    return { threads: 1, gemm: g.gemm, close: async () => {} };
  }
  let Worker: typeof import('node:worker_threads').Worker;
  try {
    ({ Worker } = await import('node:worker_threads'));
  } catch (e) {
    throw new NqBackendError('cpu', 'worker_threads is not available here (Node only); use threads: 1', {
      cause: e,
    });
  }
  const engine = new ThreadedGemm(module, threads - 1, options.minWork ?? 1 << 18);
  const workers = Array.from({ length: threads - 1 }, (_, index) => {
    const wk = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        module,
        memory: engine.memory,
        ctrl: engine.ctrlBuffer,
        index,
        blockFloats: WEIGHT_BLOCK_FLOATS,
      },
    });
    wk.unref();
    return wk;
  });
  let closed = false;
  return {
    threads,
    gemm: engine.gemm,
    async close() {
      if (closed) return;
      closed = true;
      const c = new Int32Array(engine.ctrlBuffer);
      for (let i = 0; i < workers.length; i++) {
        Atomics.store(c, i * CTRL, -1);
        Atomics.notify(c, i * CTRL);
      }
      await Promise.all(workers.map((wk) => wk.terminate()));
    },
  };
}
