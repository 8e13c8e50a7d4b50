import { opsModuleBytes } from './ops-kernel.js';

/**
 * Host side of ops-kernel.ts: the causal softmax of attention scores and SwiGLU, 4 lanes at a time.
 * Operands are copied into the module's own (private, growable) memory and back; a copy is ~50× cheaper
 * than the exp() it saves. `wasmOps()` is null where WebAssembly SIMD is unavailable: callers keep
 * their JS loops for that case.
 */
const PAGE = 65536;

export class WasmOps {
  private readonly memory: WebAssembly.Memory;
  private readonly ex: {
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
  };
  private f32: Float32Array;

  constructor(module: WebAssembly.Module) {
    this.memory = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
    this.ex = new WebAssembly.Instance(module, { env: { memory: this.memory } })
      .exports as unknown as WasmOps['ex'];
    this.f32 = new Float32Array(this.memory.buffer);
  }

  private ensure(floats: number): Float32Array {
    const bytes = floats * 4;
    if (bytes > this.memory.buffer.byteLength)
      this.memory.grow(Math.ceil((bytes - this.memory.buffer.byteLength) / PAGE));
    // Growth detaches the old buffer: refresh the view.
    if (this.f32.buffer !== this.memory.buffer) this.f32 = new Float32Array(this.memory.buffer);
    return this.f32;
  }

  /**
   * In place on sc [rows, spad], `group` rows per query position: row r becomes softmax over its
   * first base + ⌊r / group⌋ + 1 entries, zeros after (spad a multiple of 4 and ≥ every length).
   */
  softmaxRows(sc: Float32Array, rows: number, spad: number, group: number, base: number): void {
    const n = rows * spad;
    const m = this.ensure(n);
    m.set(sc.subarray(0, n));
    this.ex.softmax_rows(0, rows, spad, group, base);
    sc.set(m.subarray(0, n));
  }

  /** gate ← silu(gate) ⊙ up over the first n values (the n mod 4 tail in JS). */
  swiglu(
    gate: Float32Array,
    up: Float32Array,
    n: number,
    tail: (gate: Float32Array, up: Float32Array, from: number, to: number) => void,
  ): void {
    const n4 = n - (n % 4);
    const m = this.ensure(2 * n4);
    m.set(gate.subarray(0, n4), 0);
    m.set(up.subarray(0, n4), n4);
    this.ex.swiglu(0, n4 * 4, n4);
    gate.set(m.subarray(0, n4));
    if (n4 < n) tail(gate, up, n4, n);
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
    // [q | k | v | out | kt (hd·spad) | sc (4·spad + 16)], every part a multiple of 4 floats (16 bytes).
    const kAt = qn;
    const vAt = kAt + kvn;
    const oAt = vAt + kvn;
    const ktAt = oAt + qn;
    const scAt = ktAt + hd * spad;
    const m = this.ensure(scAt + 4 * spad + 16);
    m.set(q.subarray(0, qn), 0);
    m.set(kStore.subarray(0, kvn), kAt);
    m.set(vStore.subarray(0, kvn), vAt);
    this.ex.attention(
      0,
      kAt * 4,
      vAt * 4,
      oAt * 4,
      ktAt * 4,
      scAt * 4,
      T,
      base,
      nHeads,
      nKvHeads,
      hd,
      1 / Math.sqrt(hd),
    );
    out.set(m.subarray(oAt, oAt + qn));
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
    // [weight | x | y | out], each a multiple of 4 floats
    const xAt = dim;
    const yAt = xAt + n;
    const oAt = yAt + (y ? n : 0);
    const m = this.ensure(oAt + n);
    m.set(weight.subarray(0, dim), 0);
    m.set(x.subarray(0, n), xAt);
    if (y) m.set(y.subarray(0, n), yAt);
    this.ex.rmsnorm(xAt * 4, y ? yAt * 4 : 0, 0, oAt * 4, T, dim, eps);
    if (y) x.set(m.subarray(xAt, xAt + n));
    out.set(m.subarray(oAt, oAt + n));
  }
}

/** Whether `WasmOps.attention` takes this head size (a multiple of 8, as LLaMA's 64 and 128 are). */
export function attentionFits(hd: number): boolean {
  return hd % 8 === 0;
}

let cached: WasmOps | null | undefined;

/** The process-wide SIMD ops, or null where WebAssembly SIMD is unavailable. */
export function wasmOps(): WasmOps | null {
  if (cached === undefined) {
    try {
      const bytes = opsModuleBytes();
      cached = WebAssembly.validate(bytes) ? new WasmOps(new WebAssembly.Module(bytes)) : null;
    } catch {
      cached = null;
    }
  }
  return cached;
}
