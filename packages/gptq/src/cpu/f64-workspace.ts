import { type F64Pool, f64Pool } from './f64-threads.js';
import { f64GemmModuleBytes, MR } from './wasm/f64-gemm-kernel.js';

/**
 * Float64 working memory for one GPTQ solve plus the one primitive its O(n³) steps are made of:
 *
 *   gemmSub: C[i, j] −= Σ_p A[i, p]·B[p, j]
 *
 * C lives in the workspace (`mem`, a view of a WebAssembly memory); A and B are read from any
 * Float64Array through row/column strides (so transposes and negation cost nothing extra) and packed
 * into the kernel's tile layout (see wasm/f64-gemm-kernel.ts). The f64x2 kernel does the whole 4 × 4
 * tiles; the m mod 4 / n mod 4 edges run here in scalar JavaScript. Without WebAssembly SIMD the
 * workspace is a plain Float64Array and everything runs in the scalar path (same results up to
 * summation order).
 *
 * Blocking (why these numbers): K_CHUNK = 256 depth steps per packed pass keeps one B strip
 * (4 × 256 doubles = 8 KiB) in L1 while M_CHUNK / 4 = 32 A tiles (128 × 256 doubles = 256 KiB, L2) pass
 * it. Memory is fixed at creation (growing a WebAssembly memory would detach every view handed out).
 */
const K_CHUNK = 256;
const M_CHUNK = MR * Math.floor(128 / MR);
const PAGE_DOUBLES = 8192; // 64 KiB pages
const MAX_PAGES = 65536; // the wasm32 limit (4 GiB)

/** A strided read-only operand: element (i, p) is data[off + i·rs + p·cs], negated when `neg`. */
export interface Operand {
  data: Float64Array;
  off: number;
  rs: number;
  cs: number;
  neg?: boolean;
}

export interface GemmSubOptions {
  /**
   * Only C[i, j] with j ≤ i is wanted (a symmetric rank-k update of a lower triangle): tiles wholly
   * above the diagonal are skipped. Entries above the diagonal may still change (tiles straddling it).
   */
  lowerC?: boolean;
  /** B[p, j] = 0 for p < j (B lower triangular, square): the zero part of B is skipped. */
  lowerB?: boolean;
}

type Gebp = (ap: number, bp: number, cp: number, ldc: number, k: number, mt: number, nt: number) => void;

const moduleCache: (WebAssembly.Module | null | undefined)[] = [undefined, undefined];

/** The compiled kernel (for a shared memory or not), or null where WebAssembly SIMD is unavailable (or NQ_GPTQ_WASM=0). */
function kernelModule(shared = false): WebAssembly.Module | null {
  const i = shared ? 1 : 0;
  if (moduleCache[i] === undefined) {
    moduleCache[i] = null;
    try {
      const off = globalThis.process?.env?.NQ_GPTQ_WASM === '0';
      const bytes = f64GemmModuleBytes(shared);
      if (!off && typeof WebAssembly !== 'undefined' && WebAssembly.validate(bytes))
        moduleCache[i] = new WebAssembly.Module(bytes);
    } catch {
      moduleCache[i] = null;
    }
  }
  return moduleCache[i]!;
}

/** True when gemmSub runs the WebAssembly SIMD kernel. */
export function wasmF64Available(): boolean {
  return kernelModule() !== null;
}

export class F64Workspace {
  /** All working memory; regions handed out by `alloc` are offsets into it (in doubles). */
  readonly mem: Float64Array;
  readonly wasm: boolean;
  private readonly gebp: Gebp | null;
  private top: number;
  private readonly packA: number;
  private readonly packB: number;
  /** Worker threads sharing `memory` (null: single-threaded). */
  private readonly pool: F64Pool | null = null;
  private readonly memory: WebAssembly.Memory | null = null;
  private readonly module: WebAssembly.Module | null = null;
  /** Rows of A the packed-A buffer holds at once (all of them when threaded). */
  private readonly packARows: number;

  /**
   * @param doubles the doubles the caller will `alloc` (sum of its regions)
   * @param maxN    the widest C (columns) gemmSub will see, for the packed-B buffer
   * @param opts.wasm false = the scalar JavaScript path even where the kernel is available (tests)
   * @param opts.maxM  the tallest C (rows) gemmSub will see (default maxN; threaded runs pack all of A)
   */
  constructor(doubles: number, maxN: number, opts: { wasm?: boolean; maxM?: number } = {}) {
    const pool = opts.wasm === false || !kernelModule() ? null : f64Pool();
    const packARows = pool ? Math.ceil(Math.max(opts.maxM ?? maxN, 1) / M_CHUNK) * M_CHUNK : M_CHUNK;
    const packA = packARows * (K_CHUNK + 2);
    const packB = (K_CHUNK + 2) * (maxN + 4);
    // every region rounded to an even count so f64x2 accesses stay 16-byte aligned
    const total = doubles + packA + packB + 64;
    const mod = opts.wasm === false ? null : kernelModule(pool !== null);
    const pages = Math.ceil(total / PAGE_DOUBLES);
    let gebp: Gebp | null = null;
    let wasmMem: Float64Array | null = null;
    if (mod && pages <= MAX_PAGES) {
      try {
        const memory = pool
          ? new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true })
          : new WebAssembly.Memory({ initial: pages });
        const inst = new WebAssembly.Instance(mod, { env: { memory } });
        gebp = inst.exports.gebp as Gebp;
        wasmMem = new Float64Array(memory.buffer);
        if (pool) {
          this.pool = pool;
          this.memory = memory;
          this.module = mod;
        }
      } catch {
        gebp = null; // the engine refused that much linear memory: scalar path in a plain array
      }
    }
    this.packARows = this.pool ? packARows : M_CHUNK;
    // over the wasm32 4 GiB limit (≈ cols² + rows·cols > 5·10⁸ doubles) or no SIMD: scalar JavaScript
    const mem = wasmMem ?? new Float64Array(total);
    this.mem = mem;
    this.gebp = gebp;
    this.wasm = gebp !== null;
    this.top = 0;
    this.packA = this.alloc(packA);
    this.packB = this.alloc(packB);
  }

  /** A region of `len` doubles (zeroed: fresh memory), as an offset into `mem`. */
  alloc(len: number): number {
    const off = this.top;
    this.top += len + (len & 1);
    if (this.top > this.mem.length)
      throw new RangeError(`F64Workspace: ${this.top} doubles > ${this.mem.length}`);
    return off;
  }

  view(off: number, len: number): Float64Array {
    return this.mem.subarray(off, off + len);
  }

  /**
   * C[i, j] −= Σ_{p<k} A[i, p]·B[p, j] for i < m, j < n, C at mem[cOff + i·ldc + j].
   * C must not overlap the A or B elements read (copy first when it would).
   */
  gemmSub(
    cOff: number,
    ldc: number,
    m: number,
    n: number,
    k: number,
    A: Operand,
    B: Operand,
    opts: GemmSubOptions = {},
  ): void {
    if (m <= 0 || n <= 0 || k <= 0) return;
    const m4 = m - (m % MR);
    const n4 = n & ~3;
    const gebp = this.gebp;
    if (!gebp || m4 === 0 || n4 === 0) {
      scalarSub(this.mem, cOff, ldc, 0, m, 0, n, 0, k, A, B, opts);
      return;
    }
    const mem = this.mem;
    if (this.pool && m4 > M_CHUNK && m4 <= this.packARows) {
      this.threadedSub(gebp, cOff, ldc, m4, n4, k, A, B, opts);
    } else
      for (let p0 = 0; p0 < k; p0 += K_CHUNK) {
        const p1 = Math.min(k, p0 + K_CHUNK);
        const kc = p1 - p0;
        const kp = kc + (kc & 1);
        // columns that can be non-zero in this depth range when B is lower triangular: j < p1
        const nB = opts.lowerB ? Math.min(n4, (p1 + 3) & ~3) : n4;
        packB(mem, this.packB, B, p0, kc, kp, nB);
        for (let i0 = 0; i0 < m4; i0 += M_CHUNK) {
          const i1 = Math.min(m4, i0 + M_CHUNK);
          // a lower-triangular C needs columns j < i1 for these rows
          const nC = opts.lowerC ? Math.min(nB, (i1 + 3) & ~3) : nB;
          if (nC === 0) continue;
          packA(mem, this.packA, A, i0, i1, p0, kc, kp);
          gebp(this.packA * 8, this.packB * 8, (cOff + i0 * ldc) * 8, ldc * 8, kp, (i1 - i0) / MR, nC >> 2);
        }
      }
    // edges: the last m mod 4 rows (all columns) and the last n mod 4 columns (the other rows)
    if (m4 < m) scalarSub(mem, cOff, ldc, m4, m, 0, n, 0, k, A, B, opts);
    if (n4 < n) scalarSub(mem, cOff, ldc, 0, m4, n4, n, 0, k, A, B, opts);
  }

  /** The whole-tile part of gemmSub with row chunks spread over the pool (all of A packed first). */
  private threadedSub(
    gebp: Gebp,
    cOff: number,
    ldc: number,
    m4: number,
    n4: number,
    k: number,
    A: Operand,
    B: Operand,
    opts: GemmSubOptions,
  ): void {
    const pool = this.pool!;
    pool.attach(this.memory!, this.module!);
    const mem = this.mem;
    const T = pool.threads;
    for (let p0 = 0; p0 < k; p0 += K_CHUNK) {
      const p1 = Math.min(k, p0 + K_CHUNK);
      const kc = p1 - p0;
      const kp = kc + (kc & 1);
      const nB = opts.lowerB ? Math.min(n4, (p1 + 3) & ~3) : n4;
      if (nB === 0) continue;
      packB(mem, this.packB, B, p0, kc, kp, nB);
      const chunk = M_CHUNK * kp; // doubles per packed row chunk
      for (let i0 = 0, ci = 0; i0 < m4; i0 += M_CHUNK, ci++)
        packA(mem, this.packA + ci * chunk, A, i0, Math.min(m4, i0 + M_CHUNK), p0, kc, kp);
      const par = pool.params;
      const ap = this.packA * 8;
      const bp = this.packB * 8;
      const cp = cOff * 8;
      const ldcB = ldc * 8;
      const lowerC = opts.lowerC ? 1 : 0;
      par[0] = ap;
      par[1] = bp;
      par[2] = cp;
      par[3] = ldcB;
      par[4] = kp;
      par[5] = nB;
      par[6] = lowerC;
      par[7] = m4;
      par[8] = M_CHUNK;
      par[9] = T;
      par[10] = chunk * 8;
      par[11] = MR;
      pool.gebp(() => {
        for (let i0 = 0, ci = 0; i0 < m4; i0 += M_CHUNK, ci++) {
          if (ci % T !== 0) continue;
          const i1 = Math.min(m4, i0 + M_CHUNK);
          const nC = lowerC ? Math.min(nB, (i1 + 3) & ~3) : nB;
          if (nC > 0) gebp(ap + ci * chunk * 8, bp, cp + i0 * ldcB, ldcB, kp, (i1 - i0) / MR, nC >> 2);
        }
      });
    }
  }
}

/** A[i0:i1, p0:p0+kc] as (i1−i0)/MR tiles of kp steps × MR rows (zero step appended when kc is odd). */
function packA(
  mem: Float64Array,
  dst: number,
  A: Operand,
  i0: number,
  i1: number,
  p0: number,
  kc: number,
  kp: number,
): void {
  const { data, rs, cs } = A;
  const sign = A.neg ? -1 : 1;
  for (let i = i0; i < i1; i += MR) {
    const t = dst + ((i - i0) / MR) * kp * MR;
    for (let r = 0; r < MR; r++) {
      const src = A.off + (i + r) * rs + p0 * cs;
      let d = t + r;
      for (let p = 0; p < kc; p++) {
        mem[d] = sign * data[src + p * cs]!;
        d += MR;
      }
      if (kp > kc) mem[d] = 0;
    }
  }
}

/** B[p0:p0+kc, 0:n4] as n4/4 strips of kp steps × 4 columns. */
function packB(
  mem: Float64Array,
  dst: number,
  B: Operand,
  p0: number,
  kc: number,
  kp: number,
  n4: number,
): void {
  const { data, rs, cs } = B;
  const sign = B.neg ? -1 : 1;
  let d = dst;
  for (let j = 0; j < n4; j += 4) {
    const c0 = B.off + p0 * rs + j * cs;
    const c1 = c0 + cs;
    const c2 = c1 + cs;
    const c3 = c2 + cs;
    for (let p = 0; p < kc; p++) {
      const o = p * rs;
      mem[d] = sign * data[c0 + o]!;
      mem[d + 1] = sign * data[c1 + o]!;
      mem[d + 2] = sign * data[c2 + o]!;
      mem[d + 3] = sign * data[c3 + o]!;
      d += 4;
    }
    if (kp > kc) {
      mem[d] = mem[d + 1] = mem[d + 2] = mem[d + 3] = 0;
      d += 4;
    }
  }
}

/** The same update on C[i0:i1, j0:j1] in scalar JavaScript (edges; the whole product without wasm). */
function scalarSub(
  mem: Float64Array,
  cOff: number,
  ldc: number,
  i0: number,
  i1: number,
  j0: number,
  j1: number,
  p0: number,
  p1: number,
  A: Operand,
  B: Operand,
  opts: GemmSubOptions,
): void {
  const sa = A.neg ? -1 : 1;
  const sb = B.neg ? -1 : 1;
  for (let i = i0; i < i1; i++) {
    const jEnd = opts.lowerC ? Math.min(j1, i + 1) : j1;
    if (jEnd <= j0) continue;
    const ci = cOff + i * ldc;
    const ai = A.off + i * A.rs;
    for (let p = p0; p < p1; p++) {
      const a = sa * sb * A.data[ai + p * A.cs]!;
      if (a === 0) continue;
      const bp = B.off + p * B.rs;
      // with B lower triangular, B[p, j] = 0 for j > p
      const je = opts.lowerB ? Math.min(jEnd, p + 1) : jEnd;
      if (B.cs === 1) for (let j = j0; j < je; j++) mem[ci + j] -= a * B.data[bp + j]!;
      else for (let j = j0; j < je; j++) mem[ci + j] -= a * B.data[bp + j * B.cs]!;
    }
  }
}
