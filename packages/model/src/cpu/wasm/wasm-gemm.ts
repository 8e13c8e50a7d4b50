import type { GemmFn } from '../forward.js';
import { gemmABt } from '../gemm.js';
import { Arena, pinnedBytes, Staging } from './arena.js';
import { gemmModuleBytes } from './gemm-kernel.js';
import type { OpsParallel } from './wasm-ops.js';

/**
 * Host side of the WebAssembly SIMD GEMM. Operands are copied into the kernel's linear memory for
 * each call: [X | W | Y]. The copy reads each weight once (memcpy speed) while the kernel reads it
 * T/4 times, so for prefill (T ≫ 4) it costs a few percent, and it keeps the model's Float32Arrays
 * the only source of truth (hooks and GPTQ may change weights in place at any time).
 *
 * The memory is a shared WebAssembly.Memory so that worker threads (threads.ts) run the same
 * kernel on the same bytes, each on its own slice of output columns.
 */
const MAX_PAGES = 65536; // 4 GiB, the wasm32 limit

export type KernelExports = Record<
  'gemm_4x2' | 'gemm_1x2' | 'gemm_4x1' | 'gemm_1x1',
  (...a: number[]) => void
>;

let moduleCache: WebAssembly.Module | null | undefined;

/** The compiled kernel module, or null where WebAssembly SIMD or shared memory is unavailable. */
export function gemmModule(): WebAssembly.Module | null {
  if (moduleCache === undefined) {
    try {
      const bytes = gemmModuleBytes(true, MAX_PAGES);
      moduleCache =
        typeof WebAssembly !== 'undefined' && WebAssembly.validate(bytes)
          ? new WebAssembly.Module(bytes)
          : null;
      if (moduleCache) new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    } catch {
      moduleCache = null;
    }
  }
  return moduleCache;
}

/**
 * Rows of W per cache block: the kernel sweeps every token block past one block of weight rows, so
 * the block (WEIGHT_BLOCK_FLOATS floats = 64 KiB by default, NQ_GEMM_BLOCK_FLOATS to tune) must stay in L2. Without blocking, a 4096 × 256
 * classifier (4 MiB) was re-read from L3/DRAM once per 4 tokens and ran at ~1/5 of the kernel's speed.
 */
export const WEIGHT_BLOCK_FLOATS = Number(globalThis.process?.env?.NQ_GEMM_BLOCK_FLOATS ?? 16384);
export function weightBlockRows(K: number): number {
  return blockRowsFor(K, WEIGHT_BLOCK_FLOATS);
}
/** Rows of K floats in a block of `blockFloats` floats, a multiple of 8, at least 8 (self-contained: workers run its source). */
export function blockRowsFor(K: number, blockFloats: number): number {
  return Math.max(8, Math.floor(blockFloats / K) & ~7);
}

/** Runs the kernel over t ∈ [0, T), n ∈ [n0, n1) with pointers into the kernel's memory, block by block of W rows. */
export function runKernel(
  k: KernelExports,
  xp: number,
  wp: number,
  yp: number,
  T: number,
  K: number,
  n0: number,
  n1: number,
  ldy: number,
): void {
  const nb = weightBlockRows(K);
  for (let b0 = n0; b0 < n1; b0 += nb) runBlock(k, xp, wp, yp, T, K, b0, Math.min(n1, b0 + nb), ldy);
}

/**
 * One block of W rows [n0, n1) against every token: 4×2 tiles, then the 1×2 / 4×1 / 1×1 edges.
 * Self-contained on purpose (no outside names, literals instead of TR/NR): the worker threads run
 * this very function, compiled from `runBlock.toString()` (threads.ts), so the split logic exists
 * once.
 */
export function runBlock(
  k: KernelExports,
  xp: number,
  wp: number,
  yp: number,
  T: number,
  K: number,
  n0: number,
  n1: number,
  ldy: number,
): void {
  const tm = T - (T % 4);
  const nm = n0 + (n1 - n0 - ((n1 - n0) % 2));
  if (tm > 0 && nm > n0) k.gemm_4x2(xp, wp, yp, 0, tm, n0, nm, K, ldy);
  if (tm < T && nm > n0) k.gemm_1x2(xp, wp, yp, tm, T, n0, nm, K, ldy);
  if (tm > 0 && nm < n1) k.gemm_4x1(xp, wp, yp, 0, tm, nm, n1, K, ldy);
  if (tm < T && nm < n1) k.gemm_1x1(xp, wp, yp, tm, T, nm, n1, K, ldy);
}

/**
 * Resident weights (opt-in, `pool.keepResident(...)`): a weight matrix registered as resident is
 * copied into the kernel's memory on first use and found again by identity (the Float32Array object)
 * on every later call, so a prefill no longer re-copies every weight (at 16 threads the copy, done
 * by one thread, cost as much as the product). Only registered arrays are kept: scratch buffers that
 * callers reuse with new contents are always copied.
 * Contract: a registered array must not be modified in place afterwards without calling
 * `clearResidentWeights()`. Up to `budgetBytes` stay resident; beyond that, weights are copied per call.
 *
 * Operands that are views of the kernel's memory (`pin()`ned arrays, e.g. the forward pass's
 * activations) are used in place: no copy in, and results written straight into them.
 */
/** Single-thread SIMD GEMM with its own memory; `threads.ts` extends the same layout to workers. */
export class WasmGemm {
  readonly memory: WebAssembly.Memory;
  readonly kernel: KernelExports;
  readonly arena: Arena;
  /** Worker threads on the same memory for the element-wise kernels (none here; see threads.ts). */
  readonly parallel?: OpsParallel;
  /** Arrays registered by keepResident(). */
  private eligible = new WeakSet<Float32Array>();
  /** Resident weight → byte offset in memory (weak: a dropped model's arrays can be collected). */
  private resident = new WeakMap<Float32Array, number>();
  /** Every resident region, to give back on clearResidentWeights(). */
  private residentRegions: [at: number, bytes: number][] = [];
  private residentBytes = 0;

  constructor(
    module: WebAssembly.Module,
    /** Cap on resident bytes (the kernel's 32-bit memory also holds each call's operands). */
    readonly residentBudgetBytes = 2 ** 31,
  ) {
    this.memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
    this.kernel = new WebAssembly.Instance(module, { env: { memory: this.memory } })
      .exports as unknown as KernelExports;
    this.arena = new Arena(this.memory, MAX_PAGES);
    registerGemmEngine(this.gemm, this);
  }

  /** Registers weight arrays to keep resident from their first use on (see above). */
  keepResident(arrays: Iterable<Float32Array>): void {
    for (const a of arrays) this.eligible.add(a);
  }

  /** Forgets every resident copy (after weights were modified in place); they are re-copied on next use. */
  clearResidentWeights(): void {
    for (const [at, bytes] of this.residentRegions) this.arena.release(at, bytes);
    this.resident = new WeakMap();
    this.residentRegions = [];
    this.residentBytes = 0;
  }

  /**
   * n floats living in the kernel's memory until `unpin`ned: GEMM operands there are used in place
   * (see above). For activations that every call reads or writes.
   */
  pin(n: number): Float32Array {
    return this.arena.pin(n);
  }

  /**
   * `count` pinned arrays of n floats each (regions rounded up to powers of two, see Arena.pin), or
   * null when the kernel's memory cannot hold them (then nothing is pinned). For long-lived data such
   * as a KV cache; give them back with `unpin(a, true)`.
   */
  pinOwned(count: number, n: number): Float32Array[] | null {
    const out: Float32Array[] = [];
    try {
      for (let i = 0; i < count; i++) out.push(this.arena.pin(n, true));
      return out;
    } catch (e) {
      for (const a of out.reverse()) this.unpin(a, true);
      if (e instanceof RangeError) return null;
      throw e;
    }
  }

  /** Gives a pinned array's memory back (the array must not be used afterwards); `pow2` as it was pinned. */
  unpin(a: Float32Array, pow2 = false): void {
    const at = this.arena.offsetOf(a);
    if (at >= 0) this.arena.release(at, pinnedBytes(a.length, pow2));
  }

  /** Byte offset of a resident copy of w, making one if the budget allows; −1 if w is copied per call. */
  private residentOffset(w: Float32Array, wn: number): number {
    if (wn !== w.length || !this.eligible.has(w)) return -1;
    const known = this.resident.get(w);
    if (known !== undefined) return known;
    if (this.residentBytes + wn * 4 > this.residentBudgetBytes) return -1;
    const at = this.arena.allocLongLived(wn * 4);
    this.arena.f32.set(w, at / 4);
    this.resident.set(w, at);
    this.residentRegions.push([at, wn * 4]);
    this.residentBytes += wn * 4;
    return at;
  }

  /** Places X, W and Y for one call (in place, resident, or copied into scratch): [xp, wp, yp] and the staging to finish. */
  protected stage(
    x: Float32Array,
    T: number,
    K: number,
    w: Float32Array,
    N: number,
    y: Float32Array,
  ): [number, number, number, Staging] {
    // Resident first: a first use allocates at the arena's top, which the staging must start after.
    const wr = this.residentOffset(w, N * K);
    const st = new Staging(this.arena);
    const xp = st.place(x, T * K, 'in');
    const wp = wr >= 0 ? wr : st.place(w, N * K, 'in');
    const yp = st.place(y, T * N, 'out');
    return [xp, wp, yp, st];
  }

  /**
   * Whether this call should run in the JS kernel: K not a multiple of 4, or fewer than 4 tokens
   * with a weight that would have to be copied (decode: copying W costs as much as the product).
   */
  protected useJs(T: number, K: number, w: Float32Array): boolean {
    return K % 4 !== 0 || (T < 4 && !this.eligible.has(w) && this.arena.offsetOf(w) < 0);
  }

  /** Y[T, N] = X[T, K]·W[N, K]ᵀ (the GemmFn signature). Odd-K and small copied problems go to the JS kernel. */
  gemm = (x: Float32Array, T: number, K: number, w: Float32Array, N: number, y: Float32Array): void => {
    if (this.useJs(T, K, w)) {
      gemmABt(x, T, K, w, N, y);
      return;
    }
    const [xp, wp, yp, st] = this.stage(x, T, K, w, N, y);
    runKernel(this.kernel, xp, wp, yp, T, K, 0, N, N);
    st.copyOut();
  };
}

/** GEMM functions → their engine, so that forward() can pin its activations in the right memory. */
const engines = new WeakMap<GemmFn, WasmGemm>();

/** Records that `gemm` runs on `engine` (a subclass that replaces `gemm` registers its own). */
export function registerGemmEngine(gemm: GemmFn, engine: WasmGemm): void {
  engines.set(gemm, engine);
}

/** The engine behind a GEMM function made by WasmGemm or a GEMM pool, if any. */
export function engineOf(gemm: GemmFn): WasmGemm | undefined {
  return engines.get(gemm);
}

let defaultGemm: WasmGemm | null | undefined;

/** The process-wide single-thread SIMD GEMM, or null (then the JS kernel is used). */
export function defaultWasmGemm(): WasmGemm | null {
  if (defaultGemm === undefined) {
    const m = gemmModule();
    defaultGemm = m ? new WasmGemm(m) : null;
  }
  return defaultGemm;
}
