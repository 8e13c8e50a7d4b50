/*
 * The few pieces of the WebAssembly binary format the f64 GEMM kernel needs (core spec + fixed-width
 * SIMD: https://webassembly.github.io/spec/core/binary/). Written here rather than imported because
 * @nq/model and @nq/hadamard keep their assemblers private (each package carries its own small one).
 */
export const I32 = 0x7f;
export const V128 = 0x7b;

export function uleb(v: number): number[] {
  const out: number[] = [];
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

export function sleb(v: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];

/** A function body under construction; locals are numbered after the parameters. */
export class Func {
  readonly code: number[] = [];
  private readonly locals: number[] = [];
  constructor(
    readonly name: string,
    readonly params: number[],
  ) {}
  local(type: number): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }
  op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }
  get(i: number): this {
    return this.op(0x20, ...uleb(i));
  }
  set(i: number): this {
    return this.op(0x21, ...uleb(i));
  }
  tee(i: number): this {
    return this.op(0x22, ...uleb(i));
  }
  i32(v: number): this {
    return this.op(0x41, ...sleb(v));
  }
  /** i32.add */
  add(): this {
    return this.op(0x6a);
  }
  /** i32.mul */
  mul(): this {
    return this.op(0x6c);
  }
  /** i32.lt_u */
  ltU(): this {
    return this.op(0x49);
  }
  block(): this {
    return this.op(0x02, 0x40);
  }
  loop(): this {
    return this.op(0x03, 0x40);
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
  /** i32.eqz */
  eqz(): this {
    return this.op(0x45);
  }
  private simd(opcode: number, ...imm: number[]): this {
    return this.op(0xfd, ...uleb(opcode), ...imm);
  }
  /** v128.load, 8-byte alignment hint, constant byte offset. */
  load(offset = 0): this {
    return this.simd(0x00, 3, ...uleb(offset));
  }
  /** v128.store, 8-byte alignment hint, constant byte offset. */
  store(offset = 0): this {
    return this.simd(0x0b, 3, ...uleb(offset));
  }
  /** v128.load64_splat: one f64 into both lanes. */
  splat64(offset = 0): this {
    return this.simd(0x0a, 3, ...uleb(offset));
  }
  zero(): this {
    return this.simd(0x0c, ...new Array(16).fill(0));
  }
  f64x2Add(): this {
    return this.simd(0xf0);
  }
  f64x2Sub(): this {
    return this.simd(0xf1);
  }
  f64x2Mul(): this {
    return this.simd(0xf2);
  }
  body(): number[] {
    const groups: [number, number][] = [];
    for (const t of this.locals) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    const b = [...vec(groups.map(([n, t]) => [...uleb(n), t])), ...this.code, 0x0b];
    return [...uleb(b.length), ...b];
  }
}

/**
 * A module that imports memory "env"."memory" and exports `funcs` (no results). `shared`: the import
 * is a shared memory (up to 4 GiB) so worker threads can run the same code on the same bytes.
 */
export function buildModule(funcs: Func[], shared = false): Uint8Array<ArrayBuffer> {
  const limits = shared ? [0x03, 0x01, ...uleb(65536)] : [0x00, 0x01];
  const types = funcs.map((f) => [0x60, ...vec(f.params.map((p) => [p])), 0x00]);
  const bytes = [
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, ...limits]])),
    ...section(3, vec(funcs.map((_, i) => uleb(i)))),
    ...section(7, vec(funcs.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(funcs.map((f) => f.body()))),
  ];
  return Uint8Array.from(bytes);
}
