import { buildModule, ENV_MEMORY, F32, Func, I32, V128 } from '@nq/core/wasm';

/**
 * WebAssembly SIMD kernels for the element-wise parts of prefill that run exp(): the causal softmax
 * of attention scores and SwiGLU. In JS these cost as much as a third of the GEMM time (one exp per
 * score and per hidden unit); here they run 4 lanes at a time with no call to Math.exp.
 *
 * exp(v), per lane: y = clamp(v·log2 e, −127, 127) = n + r with n = nearest(y), |r| ≤ 1/2;
 * 2^r by its degree-7 Taylor polynomial (truncation ≤ 5e-9 relative, below float32 rounding);
 * 2^n by building the float's exponent bits ((n + 127) << 23). n = −127 gives exactly 0, so
 * exp(−∞) = 0 and masked scores vanish; the clamp at 127 keeps SiLU finite for very negative inputs
 * (g / (1 + 2^127) ≈ 0, as it should be).
 *
 * Exports (byte pointers into the imported memory, element counts):
 *  - softmax_rows(p, rows, spad, group, base): rows of length spad, `group` consecutive rows per
 *    query position; row r keeps its first len = base + ⌊r / group⌋ + 1 entries (causal: the query
 *    at position base + t sees positions ≤ base + t), softmax over them, exact zeros after. spad is
 *    a multiple of 4 and ≥ every len.
 *  - swiglu(g, u, n): g[i] ← g[i] / (1 + exp(−g[i])) · u[i] for n a multiple of 4.
 */
const SIMD = {
  load: 0x00,
  store: 0x0b,
  const: 0x0c,
  i32x4Splat: 0x11,
  f32x4Splat: 0x13,
  f32x4Lane: 0x1f,
  i32x4LtS: 0x39,
  bitselect: 0x52,
  f32x4Nearest: 0x6a,
  i32x4Shl: 0xab,
  i32x4Add: 0xae,
  f32x4Neg: 0xe1,
  f32x4Add: 0xe4,
  f32x4Sub: 0xe5,
  f32x4Mul: 0xe6,
  f32x4Div: 0xe7,
  f32x4Min: 0xe8,
  f32x4Max: 0xe9,
  i32x4TruncSatF32x4S: 0xf8,
} as const;

function f32Bytes(v: number): number[] {
  return Array.from(new Uint8Array(Float32Array.of(v).buffer));
}

/** Pushes an f32x4 splat of constant c. */
function splat(f: Func, c: number): Func {
  return f.op(0x43, ...f32Bytes(c)).simd(SIMD.f32x4Splat);
}

const POLY = Array.from({ length: 8 }, (_, i) => {
  let fact = 1;
  for (let j = 2; j <= i; j++) fact *= j;
  return Math.LN2 ** i / fact;
});

/** Locals holding the splatted constants exp() needs; computed once per call. */
interface ExpConsts {
  log2e: number;
  lo: number;
  hi: number;
  poly: number[];
  bias: number;
  tmp: number;
  n: number;
}

function expConsts(f: Func): ExpConsts {
  const c = {
    log2e: f.local(V128),
    lo: f.local(V128),
    hi: f.local(V128),
    poly: POLY.map(() => f.local(V128)),
    bias: f.local(V128),
    tmp: f.local(V128),
    n: f.local(V128),
  };
  splat(f, Math.LOG2E).set(c.log2e);
  splat(f, -127).set(c.lo);
  splat(f, 127).set(c.hi);
  POLY.forEach((p, i) => {
    splat(f, p).set(c.poly[i]!);
  });
  f.i32(127).simd(SIMD.i32x4Splat).set(c.bias);
  return c;
}

/** exp of the f32x4 on top of the stack, leaves the result on the stack. */
function emitExp(f: Func, c: ExpConsts): void {
  // y = clamp(v·log2e); n = nearest(y); r = y − n (kept in tmp)
  f.get(c.log2e).simd(SIMD.f32x4Mul).get(c.lo).simd(SIMD.f32x4Max).get(c.hi).simd(SIMD.f32x4Min).set(c.tmp);
  f.get(c.tmp).simd(SIMD.f32x4Nearest).set(c.n);
  f.get(c.tmp).get(c.n).simd(SIMD.f32x4Sub).set(c.tmp);
  // p = ((c7·r + c6)·r + …)·r + c0
  f.get(c.poly[7]!);
  for (let i = 6; i >= 0; i--) f.get(c.tmp).simd(SIMD.f32x4Mul).get(c.poly[i]!).simd(SIMD.f32x4Add);
  // × 2^n from exponent bits
  f.get(c.n).simd(SIMD.i32x4TruncSatF32x4S).get(c.bias).simd(SIMD.i32x4Add).i32(23).simd(SIMD.i32x4Shl);
  f.simd(SIMD.f32x4Mul);
}

function softmaxRows(): Func {
  const f = new Func('softmax_rows', [I32, I32, I32, I32, I32]);
  const [p, rows, spad, group, base] = [0, 1, 2, 3, 4];
  const c = expConsts(f);
  const r = f.local(I32);
  const row = f.local(I32);
  const len = f.local(I32);
  const i = f.local(I32);
  const lenv = f.local(V128);
  const idx = f.local(V128);
  const four = f.local(V128);
  const iota = f.local(V128);
  const ninf = f.local(V128);
  const zero = f.local(V128);
  const acc = f.local(V128);
  const v = f.local(V128);
  const mx = f.local(F32);
  f.simd(SIMD.const, ...new Uint8Array(Int32Array.of(0, 1, 2, 3).buffer)).set(iota);
  f.i32(4).simd(SIMD.i32x4Splat).set(four);
  splat(f, Number.NEGATIVE_INFINITY).set(ninf);
  f.v128Zero().set(zero);
  const lane = (x: number) => f.get(x).simd(SIMD.f32x4Lane, 0);
  /** mask of lanes idx < len, on the stack */
  const mask = () => f.get(idx).get(lenv).simd(SIMD.i32x4LtS);
  /** address row + i·4 on the stack */
  const addr = () => f.get(row).get(i).i32(2).shl().add();
  /** do { body; i += 4; idx += 4 } while (i < limit) */
  const doWhile = (limit: number, body: () => void) => {
    f.i32(0).set(i);
    f.get(iota).set(idx);
    f.loop();
    body();
    f.get(i).i32(4).add().set(i);
    f.get(idx).get(four).simd(SIMD.i32x4Add).set(idx);
    f.get(i).get(limit).ltS().brIf(0);
    f.end();
  };

  f.i32(0).set(r);
  f.block().loop();
  f.get(r).get(rows).geS().brIf(1);
  f.get(r).get(spad).mul().i32(2).shl().get(p).add().set(row);
  f.get(base).get(r).get(group).op(0x6e /* i32.div_u */).add().i32(1).add().set(len);
  f.get(len).simd(SIMD.i32x4Splat).set(lenv);
  // Pass 1: max over the first len entries (masked lanes read as −∞).
  f.get(ninf).set(acc);
  doWhile(len, () => {
    addr();
    f.v128Load(0, 2).get(ninf);
    mask();
    f.simd(SIMD.bitselect).get(acc).simd(SIMD.f32x4Max).set(acc);
  });
  lane(acc);
  f.get(acc).simd(SIMD.f32x4Lane, 1).op(0x97 /* f32.max */);
  f.get(acc).simd(SIMD.f32x4Lane, 2).op(0x97);
  f.get(acc).simd(SIMD.f32x4Lane, 3).op(0x97);
  f.set(mx);
  // Pass 2: e = exp(x − max) (masked lanes → 0), stored, summed.
  f.get(zero).set(acc);
  doWhile(len, () => {
    addr();
    addr();
    f.v128Load(0, 2).get(mx).simd(SIMD.f32x4Splat).simd(SIMD.f32x4Sub);
    emitExp(f, c);
    f.set(v);
    f.get(v).get(zero);
    mask();
    f.simd(SIMD.bitselect).set(v);
    f.get(v).simd(SIMD.store, 2, 0);
    f.get(acc).get(v).simd(SIMD.f32x4Add).set(acc);
  });
  // inv = 1 / sum, splatted into v.
  f.op(0x43, ...f32Bytes(1));
  lane(acc);
  f.get(acc).simd(SIMD.f32x4Lane, 1).f32Add();
  f.get(acc).simd(SIMD.f32x4Lane, 2).f32Add();
  f.get(acc).simd(SIMD.f32x4Lane, 3).f32Add();
  f.op(0x95 /* f32.div */).simd(SIMD.f32x4Splat).set(v);
  // Pass 3: scale; i ends at len rounded up to 4.
  doWhile(len, () => {
    addr();
    addr();
    f.v128Load(0, 2).get(v).simd(SIMD.f32x4Mul).simd(SIMD.store, 2, 0);
  });
  // Zeros after the causal limit, up to spad.
  f.block().loop();
  f.get(i).get(spad).geS().brIf(1);
  addr();
  f.get(zero).simd(SIMD.store, 2, 0);
  f.get(i).i32(4).add().set(i);
  f.br(0);
  f.end().end();
  f.get(r).i32(1).add().set(r);
  f.br(0);
  f.end().end();
  return f;
}

function swiglu(): Func {
  const f = new Func('swiglu', [I32, I32, I32]);
  const [g, u, n] = [0, 1, 2];
  const c = expConsts(f);
  const i = f.local(I32);
  const gv = f.local(V128);
  const one = f.local(V128);
  splat(f, 1).set(one);
  f.i32(0).set(i);
  f.block().loop();
  f.get(i).get(n).geS().brIf(1);
  f.get(g).get(i).i32(2).shl().add().v128Load(0, 2).set(gv);
  // address for the store, then g / (1 + exp(−g)) · u
  f.get(g).get(i).i32(2).shl().add();
  f.get(gv);
  f.get(gv).simd(SIMD.f32x4Neg);
  emitExp(f, c);
  f.get(one).simd(SIMD.f32x4Add).simd(SIMD.f32x4Div);
  f.get(u).get(i).i32(2).shl().add().v128Load(0, 2).simd(SIMD.f32x4Mul);
  f.simd(SIMD.store, 2, 0);
  f.get(i).i32(4).add().set(i);
  f.br(0);
  f.end().end();
  return f;
}

export function opsModuleBytes(): Uint8Array<ArrayBuffer> {
  return buildModule([softmaxRows(), swiglu()], {
    import: ENV_MEMORY,
    initialPages: 1,
    maxPages: 65536,
    shared: false,
  });
}
