import { sleb, uleb, vec } from './leb128.js';

/** Value types (https://webassembly.github.io/spec/core/binary/types.html). */
export const I32 = 0x7f;
export const I64 = 0x7e;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;

/** Prefix byte of the SIMD instructions; the SIMD opcode follows as a uleb. */
export const SIMD_PREFIX = 0xfd;

/**
 * A function under construction: a name (it is exported under it), i32/f32/… parameters and no
 * results. Locals are numbered after the parameters, in the order `local()` hands them out.
 * Instruction methods append bytes and return `this`, so code reads in stack order:
 * `f.get(a).get(b).add().set(c)` is `local.get a; local.get b; i32.add; local.set c`.
 * Anything without a method is emitted with `op(...)` (plain opcodes) or `simd(opcode, ...imm)`.
 * Memory instructions take the alignment as log2 of bytes (the encoding's form) and a byte offset.
 */
export class Func {
  readonly code: number[] = [];
  private readonly localTypes: number[] = [];
  constructor(
    readonly name: string,
    readonly params: readonly number[],
  ) {}

  /** Declares a local of `type`; returns its index. */
  local(type: number): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  /** Appends raw instruction bytes. */
  op(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }

  // ---- control
  /** block with empty block type */
  block(): this {
    return this.op(0x02, 0x40);
  }
  /** loop with empty block type */
  loop(): this {
    return this.op(0x03, 0x40);
  }
  /** if with empty block type */
  if(): this {
    return this.op(0x04, 0x40);
  }
  else(): this {
    return this.op(0x05);
  }
  end(): this {
    return this.op(0x0b);
  }
  br(depth: number): this {
    return this.op(0x0c, ...uleb(depth));
  }
  brIf(depth: number): this {
    return this.op(0x0d, ...uleb(depth));
  }
  select(): this {
    return this.op(0x1b);
  }

  // ---- locals
  get(i: number): this {
    return this.op(0x20, ...uleb(i));
  }
  set(i: number): this {
    return this.op(0x21, ...uleb(i));
  }
  tee(i: number): this {
    return this.op(0x22, ...uleb(i));
  }

  /**
   * for (i = from; i < limit; i += step) { body }, i an i32 local, signed compare at the top of each
   * pass: `from` and `limit` push their i32 value, `body` emits the loop body (in it, outside nested
   * blocks, depth 0 is the top of the loop — no increment — and depth 1 leaves it).
   */
  forLoop(i: number, from: () => void, limit: () => void, step: number, body: () => void): this {
    from();
    this.set(i);
    this.block().loop();
    this.get(i);
    limit();
    this.geS().brIf(1);
    body();
    this.get(i).i32(step).add().set(i);
    this.br(0);
    return this.end().end();
  }

  // ---- i32
  /** i32.const */
  i32(v: number): this {
    return this.op(0x41, ...sleb(v));
  }
  /** i32.eqz */
  eqz(): this {
    return this.op(0x45);
  }
  /** i32.lt_s */
  ltS(): this {
    return this.op(0x48);
  }
  /** i32.lt_u */
  ltU(): this {
    return this.op(0x49);
  }
  /** i32.le_u */
  leU(): this {
    return this.op(0x4d);
  }
  /** i32.ge_s */
  geS(): this {
    return this.op(0x4e);
  }
  /** i32.ge_u */
  geU(): this {
    return this.op(0x4f);
  }
  /** i32.add */
  add(): this {
    return this.op(0x6a);
  }
  /** i32.sub */
  sub(): this {
    return this.op(0x6b);
  }
  /** i32.mul */
  mul(): this {
    return this.op(0x6c);
  }
  /** i32.shl */
  shl(): this {
    return this.op(0x74);
  }

  // ---- f32
  /** f32.load (default: 4-byte alignment hint) */
  f32Load(offset = 0, alignLog2 = 2): this {
    return this.op(0x2a, ...uleb(alignLog2), ...uleb(offset));
  }
  /** f32.store (default: 4-byte alignment hint) */
  f32Store(offset = 0, alignLog2 = 2): this {
    return this.op(0x38, ...uleb(alignLog2), ...uleb(offset));
  }
  /** f32.add */
  f32Add(): this {
    return this.op(0x92);
  }

  // ---- SIMD (v128)
  /** A SIMD instruction: prefix 0xfd, `opcode` as uleb, then its immediates. */
  simd(opcode: number, ...imm: number[]): this {
    return this.op(SIMD_PREFIX, ...uleb(opcode), ...imm);
  }
  /** v128.load (default: the natural 16-byte alignment hint) */
  v128Load(offset = 0, alignLog2 = 4): this {
    return this.simd(0x00, ...uleb(alignLog2), ...uleb(offset));
  }
  /** v128.load64_splat: one 64-bit value into both halves (default: 8-byte alignment hint) */
  v128Load64Splat(offset = 0, alignLog2 = 3): this {
    return this.simd(0x0a, ...uleb(alignLog2), ...uleb(offset));
  }
  /** v128.store (default: the natural 16-byte alignment hint) */
  v128Store(offset = 0, alignLog2 = 4): this {
    return this.simd(0x0b, ...uleb(alignLog2), ...uleb(offset));
  }
  /** v128.const of 16 raw bytes (little-endian lanes) */
  v128Const(bytes: ArrayLike<number>): this {
    return this.simd(0x0c, ...Array.from(bytes));
  }
  /** v128.const 0 */
  v128Zero(): this {
    return this.v128Const(new Uint8Array(16));
  }
  /** f32x4.extract_lane */
  f32x4Lane(lane: number): this {
    return this.simd(0x1f, lane);
  }
  /** f32x4.add */
  f32x4Add(): this {
    return this.simd(0xe4);
  }
  /** f32x4.mul */
  f32x4Mul(): this {
    return this.simd(0xe6);
  }
  /** f64x2.add */
  f64x2Add(): this {
    return this.simd(0xf0);
  }
  /** f64x2.sub */
  f64x2Sub(): this {
    return this.simd(0xf1);
  }
  /** f64x2.mul */
  f64x2Mul(): this {
    return this.simd(0xf2);
  }

  /** The code-section entry: size, run-length local declarations, the code, end. */
  body(): number[] {
    const groups: [number, number][] = [];
    for (const t of this.localTypes) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    const b = [...vec(groups.map(([n, t]) => [...uleb(n), t])), ...this.code, 0x0b];
    return [...uleb(b.length), ...b];
  }
}
