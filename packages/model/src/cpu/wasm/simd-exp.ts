import { type Func, V128 } from '@nq/core/wasm';

/**
 * exp() on f32x4 lanes for the generated element-wise kernels (softmax, SwiGLU, attention), plus the
 * SIMD opcodes they use.
 *
 * exp(v), per lane: y = clamp(v·log2 e, −127, 127) = n + r with n = round(y) (ties to even) and
 * |r| ≤ 1/2; 2^r by its degree-7 Taylor polynomial (truncation ≤ 5e-9 relative, below float32
 * rounding); 2^n by building the float's exponent bits ((n + 127) << 23). n = −127 gives exactly 0,
 * so exp(−∞) = 0 and masked scores vanish; the clamp at 127 keeps SiLU finite for very negative
 * inputs (g / (1 + 2^127) ≈ 0, as it should be).
 *
 * Two choices are about V8's x64 code, measured on this project's machines: the clamp uses
 * f32x4.pmin/pmax (one minps/maxps each; f32x4.min/max must order NaN and ±0 and cost ~7
 * instructions each), and n comes from the "magic number" trick — m = y + 1.5·2^23 rounds y to an
 * integer held in m's low mantissa bits — instead of f32x4.nearest + i32x4.trunc_sat (a long
 * sequence on x64). Together: SwiGLU 36 → 20 µs per 16k values.
 */
export const SIMD = {
  load: 0x00,
  load32Splat: 0x09,
  store: 0x0b,
  const: 0x0c,
  i32x4Splat: 0x11,
  f32x4Splat: 0x13,
  f32x4Lane: 0x1f,
  i32x4LtS: 0x39,
  bitselect: 0x52,
  i32x4Shl: 0xab,
  i32x4Add: 0xae,
  f32x4Neg: 0xe1,
  f32x4Add: 0xe4,
  f32x4Sub: 0xe5,
  f32x4Mul: 0xe6,
  f32x4Div: 0xe7,
  f32x4Pmin: 0xea,
  f32x4Pmax: 0xeb,
} as const;

/** Plain opcodes used next to the SIMD ones. */
export const OP = {
  f32Const: 0x43,
  i32DivU: 0x6e,
  i32RemU: 0x70,
  f32Max: 0x97,
  f32Div: 0x95,
  i32Store: 0x36,
} as const;

export function f32Bytes(v: number): number[] {
  return Array.from(new Uint8Array(Float32Array.of(v).buffer));
}

/** Pushes an f32x4 splat of the constant c. */
export function splat(f: Func, c: number): Func {
  return f.op(OP.f32Const, ...f32Bytes(c)).simd(SIMD.f32x4Splat);
}

const POLY = Array.from({ length: 8 }, (_, i) => {
  let fact = 1;
  for (let j = 2; j <= i; j++) fact *= j;
  return Math.LN2 ** i / fact;
});

/** 1.5·2^23: adding it to |y| < 2^22 rounds y to an integer stored in the low mantissa bits. */
const MAGIC = 12582912;

/** Locals holding the splatted constants exp() needs; set once per call by `expConsts`. */
export interface ExpConsts {
  log2e: number;
  lo: number;
  hi: number;
  magic: number;
  poly: number[];
  bias: number;
  /** Scratch locals of the k-th chain: [reduced argument, rounded exponent]; made on first use. */
  scratch: [number, number][];
}

export function expConsts(f: Func): ExpConsts {
  const c: ExpConsts = {
    log2e: f.local(V128),
    lo: f.local(V128),
    hi: f.local(V128),
    magic: f.local(V128),
    poly: POLY.map(() => f.local(V128)),
    bias: f.local(V128),
    scratch: [],
  };
  splat(f, Math.LOG2E).set(c.log2e);
  splat(f, -127).set(c.lo);
  splat(f, 127).set(c.hi);
  splat(f, MAGIC).set(c.magic);
  POLY.forEach((p, i) => {
    splat(f, p).set(c.poly[i]!);
  });
  f.i32(127).simd(SIMD.i32x4Splat).set(c.bias);
  return c;
}

/**
 * exp of several f32x4 values at once, in place on the given V128 locals, the steps of the
 * independent chains interleaved: one exp is a ~40-cycle dependency chain, and V8 emits the code in
 * the order given, so interleaving lets the core overlap the chains (SwiGLU ~1.6× faster with two).
 */
export function emitExpInterleaved(f: Func, c: ExpConsts, vals: readonly number[]): void {
  while (c.scratch.length < vals.length) c.scratch.push([f.local(V128), f.local(V128)]);
  const tmp = vals.map((_, k) => c.scratch[k]![0]);
  const n = vals.map((_, k) => c.scratch[k]![1]);
  const each = (emit: (k: number) => void) => {
    for (let k = 0; k < vals.length; k++) emit(k);
  };
  each((k) =>
    f
      .get(vals[k]!)
      .get(c.log2e)
      .simd(SIMD.f32x4Mul)
      .get(c.lo)
      .simd(SIMD.f32x4Pmax)
      .get(c.hi)
      .simd(SIMD.f32x4Pmin)
      .set(tmp[k]!),
  );
  each((k) => f.get(tmp[k]!).get(c.magic).simd(SIMD.f32x4Add).set(n[k]!));
  each((k) => f.get(tmp[k]!).get(n[k]!).get(c.magic).simd(SIMD.f32x4Sub).simd(SIMD.f32x4Sub).set(tmp[k]!));
  each((k) => f.get(c.poly[7]!).set(vals[k]!));
  for (let i = 6; i >= 0; i--)
    each((k) =>
      f.get(vals[k]!).get(tmp[k]!).simd(SIMD.f32x4Mul).get(c.poly[i]!).simd(SIMD.f32x4Add).set(vals[k]!),
    );
  each((k) =>
    f
      .get(vals[k]!)
      .get(n[k]!)
      .get(c.bias)
      .simd(SIMD.i32x4Add)
      .i32(23)
      .simd(SIMD.i32x4Shl)
      .simd(SIMD.f32x4Mul)
      .set(vals[k]!),
  );
}
