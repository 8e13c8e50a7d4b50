import { Arena, Staging } from './arena.js';
import { opsModuleBytes } from './ops-kernel.js';

/**
 * Host side of ops-kernel.ts: causal softmax, SwiGLU, attention and residual add + RMSNorm, 4 lanes
 * at a time. Each instance runs on one arena (arena.ts): the process-wide `wasmOps()` on a private
 * memory of its own, where every operand is copied in and out (a copy is ~50× cheaper than the exp()
 * it saves); `opsOn(engine.arena)` on a GEMM engine's shared memory, where operands pinned there are
 * used in place. `wasmOps()` is null where WebAssembly SIMD is unavailable: callers keep their JS
 * loops for that case.
 */
interface OpsExports {
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
  ): void;
  rmsnorm(xp: number, yp: number, wp: number, op: number, T: number, dim: number, eps: number): void;
}

export class WasmOps {
  private readonly ex: OpsExports;

  constructor(
    module: WebAssembly.Module,
    private readonly arena: Arena,
  ) {
    this.ex = new WebAssembly.Instance(module, { env: { memory: arena.memory } })
      .exports as unknown as OpsExports;
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
    this.ex.swiglu(g, u, n8);
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
    const ktp = st.scratch(hd * spad);
    const scp = st.scratch(4 * spad + 16);
    this.ex.attention(qp, kp, vp, op, ktp, scp, T, base, nHeads, nKvHeads, hd, 1 / Math.sqrt(hd));
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
    this.ex.rmsnorm(xp, yp, wp, op, T, dim, eps);
    st.copyOut();
  }
}

/** Whether `WasmOps.attention` takes this head size (a multiple of 8, as LLaMA's 64 and 128 are). */
export function attentionFits(hd: number): boolean {
  return hd % 8 === 0;
}

const modules = new Map<boolean, WebAssembly.Module | null>();

/** The compiled ops module for a shared or private memory, or null without WebAssembly SIMD. */
function opsModule(shared: boolean): WebAssembly.Module | null {
  if (!modules.has(shared)) {
    let m: WebAssembly.Module | null = null;
    try {
      const bytes = opsModuleBytes(shared);
      m = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
    } catch {
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

const onArena = new WeakMap<Arena, WasmOps | null>();

/** SIMD ops running on a GEMM engine's (shared) memory, so operands pinned there need no copies. */
export function opsOn(arena: Arena): WasmOps | null {
  if (!onArena.has(arena)) {
    const m = opsModule(true);
    onArena.set(arena, m ? new WasmOps(m, arena) : null);
  }
  return onArena.get(arena)!;
}
