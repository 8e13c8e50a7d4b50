import { Arena, Staging } from './arena.js';
import { opsModuleBytes } from './ops-kernel.js';
import { gemmModule } from './wasm-gemm.js';

/**
 * Host side of ops-kernel.ts: causal softmax, SwiGLU, attention and residual add + RMSNorm, 4 lanes
 * at a time. Each instance runs on one arena (arena.ts): the process-wide `wasmOps()` on a private
 * memory of its own, where every operand is copied in and out (a copy is ~50× cheaper than the exp()
 * it saves); `opsOn(engine)` on a GEMM engine's shared memory, where operands pinned there are
 * used in place. `wasmOps()` is null where WebAssembly SIMD is unavailable: callers keep their JS
 * loops for that case.
 */
export interface OpsExports {
  softmax_rows(p: number, rows: number, spad: number, group: number, base: number): void;
  swiglu(g: number, u: number, n: number): void;
  attention(
    qp: number,
    kp: number,
    vp: number,
    op: number,
    ktp: number,
    scp: number,
    T: number,
    base: number,
    nHeads: number,
    nKvHeads: number,
    hd: number,
    scale: number,
    g0: number,
    g1: number,
    rb0: number,
    rb1: number,
  ): void;
  rmsnorm(xp: number, yp: number, wp: number, op: number, T: number, dim: number, eps: number): void;
  rope(xp: number, T: number, width: number, hd: number, cosp: number, sinp: number): void;
}

/** Task codes of the element-wise kernels for worker threads (0 is the GEMM slice, threads.ts). */
export const OPS_TASK = { swiglu: 1, rmsnorm: 2, attention: 3, rope: 4 } as const;

/**
 * Runs element-wise task `task` (an OPS_TASK code) with int32 arguments `a` on an instance of the ops
 * module: the one place that knows each task's argument order, for the calling thread and the pool
 * workers alike — threads.ts ships this function's source to them, so it names nothing outside
 * itself (hence the literal codes). Float arguments arrive as their float32 bits (`f32Bits`).
 */
export function runOpsTask(ex: OpsExports, task: number, a: ArrayLike<number>): void {
  // No inner functions: tsx's keepNames would wrap them in a helper the workers do not have.
  if (task === 1) ex.swiglu(a[0]!, a[1]!, a[2]!);
  else if (task === 2)
    ex.rmsnorm(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, new Float32Array(Int32Array.of(a[6]!).buffer)[0]!);
  else if (task === 3)
    ex.attention(
      a[0]!,
      a[1]!,
      a[2]!,
      a[3]!,
      a[4]!,
      a[5]!,
      a[6]!,
      a[7]!,
      a[8]!,
      a[9]!,
      a[10]!,
      new Float32Array(Int32Array.of(a[11]!).buffer)[0]!,
      a[12]!,
      a[13]!,
      a[14]!,
      a[15]!,
    );
  else if (task === 4) ex.rope(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!);
  else throw new Error(`unknown element-wise task ${task}`);
}

/**
 * Worker threads on the same memory (a GEMM pool): `run` gives args[p] to thread p — p = 0 is the
 * calling thread, through `local` — and returns when every part is done. Float arguments travel as
 * their float32 bits (`f32Bits`).
 */
export interface OpsParallel {
  readonly threads: number;
  run(task: number, args: number[][], local: (args: number[]) => void): void;
}

const bitsI32 = new Int32Array(1);
const bitsF32 = new Float32Array(bitsI32.buffer);
/** The float32 bits of x as an int32 (to pass a float through an Int32Array). */
export function f32Bits(x: number): number {
  bitsF32[0] = x;
  return bitsI32[0]!;
}
/** Element-wise work below this many values stays on one thread (waking a worker costs tens of µs). */
const PARALLEL_MIN_VALUES = 1 << 15;

/** Even split of [0, n) into `parts` ranges whose bounds are multiples of `align` (some may be empty). */
function ranges(n: number, parts: number, align: number): [number, number][] {
  const step = Math.ceil(n / parts / align) * align;
  return Array.from({ length: parts }, (_, p) => [Math.min(n, p * step), Math.min(n, (p + 1) * step)]);
}

/**
 * Bounds 0 = c0 < … < cn = rows (multiples of 4 but the last) splitting query rows into n parts of
 * about equal causal attention work: row r sees base + r keys (in row units), so the work up to r
 * grows like (base + r)² and the cuts go as a square root.
 */
function causalCuts(rows: number, base: number, n: number): number[] {
  const cuts = [0];
  const total = (base + rows) ** 2 - base ** 2;
  for (let i = 1; i < n; i++) {
    const r = Math.sqrt(base ** 2 + (total * i) / n) - base;
    cuts.push(Math.min(rows, Math.max(cuts[i - 1]!, Math.round(r / 4) * 4)));
  }
  cuts.push(rows);
  return cuts;
}

export class WasmOps {
  private readonly ex: OpsExports;

  constructor(
    module: WebAssembly.Module,
    private readonly arena: Arena,
    private readonly parallel?: OpsParallel,
  ) {
    this.ex = new WebAssembly.Instance(module, { env: { memory: arena.memory } })
      .exports as unknown as OpsExports;
  }

  /** How many threads a job of `values` values over `units` independent units should use. */
  private partsFor(values: number, units: number): number {
    const threads = this.parallel?.threads ?? 1;
    return Math.max(1, Math.min(threads, units, Math.floor(values / PARALLEL_MIN_VALUES)));
  }

  /** Runs task `task` with args[0] here and the other parts on workers (one part: just here). */
  private run(task: number, args: number[][]): void {
    if (args.length === 0) return; // nothing to do (e.g. SwiGLU of fewer than 8 values: all in the JS tail)
    const local = (a: number[]) => runOpsTask(this.ex, task, a);
    if (args.length === 1 || !this.parallel) for (const a of args) local(a);
    else this.parallel.run(task, args, local);
  }

  /**
   * In place on sc [rows, spad], `group` rows per query position: row r becomes softmax over its
   * first base + ⌊r / group⌋ + 1 entries, zeros after (spad a multiple of 4 and ≥ every length).
   */
  softmaxRows(sc: Float32Array, rows: number, spad: number, group: number, base: number): void {
    const st = new Staging(this.arena);
    const p = st.place(sc, rows * spad, 'inout');
    this.ex.softmax_rows(p, rows, spad, group, base);
    st.copyOut();
  }

  /** gate ← silu(gate) ⊙ up over the first n values (the n mod 8 tail in JS). */
  swiglu(
    gate: Float32Array,
    up: Float32Array,
    n: number,
    tail: (gate: Float32Array, up: Float32Array, from: number, to: number) => void,
  ): void {
    const n8 = n - (n % 8);
    const st = new Staging(this.arena);
    const g = st.place(gate, n8, 'inout');
    const u = st.place(up, n8, 'in');
    const parts = ranges(n8, this.partsFor(n8, n8 / 8), 8).filter(([a, b]) => b > a);
    this.run(
      OPS_TASK.swiglu,
      parts.map(([a, b]) => [g + 4 * a, u + 4 * a, b - a]),
    );
    st.copyOut();
    if (n8 < n) tail(gate, up, n8, n);
  }

  /**
   * Causal grouped-query attention (attention-kernel.ts): q [T, nHeads·hd] at positions
   * base … base + T − 1, kStore/vStore holding at least S = base + T rows of nKvHeads·hd, result into
   * out [T, nHeads·hd]. hd must be a multiple of 8 (`attentionFits`).
   */
  attention(
    q: Float32Array,
    kStore: Float32Array,
    vStore: Float32Array,
    out: Float32Array,
    T: number,
    base: number,
    nHeads: number,
    nKvHeads: number,
    hd: number,
  ): void {
    const qn = T * nHeads * hd;
    const S = base + T;
    const kvn = S * nKvHeads * hd;
    const spad = (S + 7) & ~7;
    const st = new Staging(this.arena);
    const qp = st.place(q, qn, 'in');
    const kp = st.place(kStore, kvn, 'in');
    const vp = st.place(vStore, kvn, 'in');
    const op = st.place(out, qn, 'out');
    // Parts for threads: KV heads, and within a head query-row ranges of equal causal work (row r
    // costs ∝ its length, so the bounds go as √); each part has its own scratch (kt, sc + 1/Σ and running maxima).
    const rows = (nHeads / nKvHeads) * T;
    const P = this.partsFor((qn * S) / 2, nKvHeads * Math.ceil(rows / 4));
    const perHead = Math.max(1, Math.floor(P / nKvHeads));
    const heads = ranges(nKvHeads, Math.min(P, nKvHeads), 1).filter(([a, b]) => b > a);
    const scale = f32Bits(1 / Math.sqrt(hd));
    const args: number[][] = [];
    for (const [g0, g1] of heads) {
      const cuts = causalCuts(rows, base * (nHeads / nKvHeads), g1 - g0 === 1 ? perHead : 1);
      for (let i = 0; i + 1 < cuts.length; i++) {
        if (cuts[i + 1]! <= cuts[i]!) continue;
        const ktp = st.scratch(hd * spad);
        const scp = st.scratch(4 * spad + 32);
        args.push([
          qp,
          kp,
          vp,
          op,
          ktp,
          scp,
          T,
          base,
          nHeads,
          nKvHeads,
          hd,
          scale,
          g0,
          g1,
          cuts[i]!,
          cuts[i + 1]!,
        ]);
      }
    }
    this.run(OPS_TASK.attention, args);
    st.copyOut();
  }

  /**
   * Residual add and RMSNorm of T rows of width dim (a multiple of 4): x += y when y is given (x is
   * updated), then out = x / sqrt(mean(x²) + eps) ⊙ weight. Sums in float32.
   */
  addRmsNorm(
    x: Float32Array,
    y: Float32Array | null,
    weight: Float32Array,
    out: Float32Array,
    T: number,
    dim: number,
    eps: number,
  ): void {
    const n = T * dim;
    const st = new Staging(this.arena);
    const wp = st.place(weight, dim, 'in');
    const xp = st.place(x, n, y ? 'inout' : 'in');
    const yp = y ? st.place(y, n, 'in') : 0;
    const op = st.place(out, n, 'out');
    const rows = ranges(T, this.partsFor(n, T), 1).filter(([a, b]) => b > a);
    const e = f32Bits(eps);
    this.run(
      OPS_TASK.rmsnorm,
      rows.map(([a, b]) => [xp + 4 * a * dim, y ? yp + 4 * a * dim : 0, wp, op + 4 * a * dim, b - a, dim, e]),
    );
    st.copyOut();
  }

  /**
   * RoPE in place on T rows of width `width` (heads of hd, hd a multiple of 4; `ropeFits`): row t is
   * rotated by the angles at table row pos0 + t of cos/sin [positions, hd/2].
   */
  rope(
    x: Float32Array,
    T: number,
    width: number,
    hd: number,
    pos0: number,
    cos: Float32Array,
    sin: Float32Array,
  ): void {
    const half = hd / 2;
    const st = new Staging(this.arena);
    const xp = st.place(x, T * width, 'inout');
    const cp = st.place(cos.subarray(pos0 * half), T * half, 'in');
    const sp = st.place(sin.subarray(pos0 * half), T * half, 'in');
    const rows = ranges(T, this.partsFor(T * width, T), 1).filter(([a, b]) => b > a);
    this.run(
      OPS_TASK.rope,
      rows.map(([a, b]) => [xp + 4 * a * width, b - a, width, hd, cp + 4 * a * half, sp + 4 * a * half]),
    );
    st.copyOut();
  }
}

/** Whether `WasmOps.rope` takes this head size (a multiple of 4). */
export function ropeFits(hd: number): boolean {
  return hd % 4 === 0;
}

/** Whether `WasmOps.attention` takes this head size (a multiple of 8, as LLaMA's 64 and 128 are). */
export function attentionFits(hd: number): boolean {
  return hd % 8 === 0;
}

const modules = new Map<boolean, WebAssembly.Module | null>();

/** The compiled ops module for a shared or private memory, or null without WebAssembly SIMD. */
function opsModule(shared: boolean): WebAssembly.Module | null {
  if (!modules.has(shared)) {
    const bytes = opsModuleBytes(shared);
    let m: WebAssembly.Module | null = null;
    try {
      m = new WebAssembly.Module(bytes);
    } catch (e) {
      // Where the GEMM kernel (same SIMD, same shared memory) compiles, this failing is a bug in the
      // generated code: say so instead of silently running the JS fallbacks.
      if (gemmModule())
        throw new Error(`element-wise SIMD kernels failed to compile: ${(e as Error).message}`);
      m = null;
    }
    modules.set(shared, m);
  }
  return modules.get(shared)!;
}

let cached: WasmOps | null | undefined;

/** The process-wide SIMD ops on a private memory, or null where WebAssembly SIMD is unavailable. */
export function wasmOps(): WasmOps | null {
  if (cached === undefined) {
    const m = opsModule(false);
    cached = m
      ? new WasmOps(m, new Arena(new WebAssembly.Memory({ initial: 1, maximum: 65536 }), 65536))
      : null;
  }
  return cached;
}

const onEngine = new WeakMap<object, WasmOps | null>();

/**
 * SIMD ops running on a GEMM engine's (shared) memory, so operands pinned there need no copies, and
 * on its worker threads where it has some.
 */
export function opsOn(engine: { arena: Arena; parallel?: OpsParallel }): WasmOps | null {
  if (!onEngine.has(engine)) {
    const m = sharedOpsModule();
    onEngine.set(engine, m ? new WasmOps(m, engine.arena, engine.parallel) : null);
  }
  return onEngine.get(engine)!;
}

/** The ops module for a shared memory (what worker threads instantiate too), or null. */
export function sharedOpsModule(): WebAssembly.Module | null {
  return opsModule(true);
}
