import { buildModule, ENV_MEMORY, F32, Func, I32, V128 } from '@nq/core/wasm';
import { attentionFunc } from './attention-kernel.js';
import { emitExpInterleaved, expConsts, f32Bytes, OP, SIMD, splat } from './simd-exp.js';

/**
 * WebAssembly SIMD kernels for the element-wise parts of prefill: those that run exp() (the causal
 * softmax of attention scores, SwiGLU, attention) and the residual add + RMSNorm. In JS these cost as much as a third of the GEMM time (one exp per
 * score and per hidden unit); here they run 4 lanes at a time with no call to Math.exp.
 *
 * exp() is simd-exp.ts's.
 *
 * Exports (byte pointers into the imported memory, element counts):
 *  - softmax_rows(p, rows, spad, group, base): rows of length spad, `group` consecutive rows per
 *    query position; row r keeps its first len = base + ⌊r / group⌋ + 1 entries (causal: the query
 *    at position base + t sees positions ≤ base + t), softmax over them, exact zeros after. spad is
 *    a multiple of 4 and ≥ every len.
 *  - swiglu(g, u, n): g[i] ← g[i] / (1 + exp(−g[i])) · u[i] for n a multiple of 8;
 *  - attention(…): causal grouped-query attention, see attention-kernel.ts;
 *  - rmsnorm(…): residual add + RMSNorm, see below;
 *  - rope(…): rotary embedding of interleaved pairs, see below.
 */
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
  f.get(base).get(r).get(group).op(OP.i32DivU).add().i32(1).add().set(len);
  f.get(len).simd(SIMD.i32x4Splat).set(lenv);
  // Pass 1: max over the first len entries (masked lanes read as −∞).
  f.get(ninf).set(acc);
  doWhile(len, () => {
    addr();
    f.v128Load(0, 2).get(ninf);
    mask();
    f.simd(SIMD.bitselect).get(acc).simd(SIMD.f32x4Pmax).set(acc);
  });
  lane(acc);
  f.get(acc).simd(SIMD.f32x4Lane, 1).op(OP.f32Max);
  f.get(acc).simd(SIMD.f32x4Lane, 2).op(OP.f32Max);
  f.get(acc).simd(SIMD.f32x4Lane, 3).op(OP.f32Max);
  f.set(mx);
  // Pass 2: e = exp(x − max) (masked lanes → 0), stored, summed.
  f.get(zero).set(acc);
  doWhile(len, () => {
    addr(); // the store's address, under the value computed next
    addr();
    f.v128Load(0, 2).get(mx).simd(SIMD.f32x4Splat).simd(SIMD.f32x4Sub).set(v);
    emitExpInterleaved(f, c, [v]);
    f.get(v).get(zero);
    mask();
    f.simd(SIMD.bitselect).set(v);
    f.get(v).simd(SIMD.store, 2, 0);
    f.get(acc).get(v).simd(SIMD.f32x4Add).set(acc);
  });
  // inv = 1 / sum, splatted into v.
  f.op(OP.f32Const, ...f32Bytes(1));
  lane(acc);
  f.get(acc).simd(SIMD.f32x4Lane, 1).f32Add();
  f.get(acc).simd(SIMD.f32x4Lane, 2).f32Add();
  f.get(acc).simd(SIMD.f32x4Lane, 3).f32Add();
  f.op(OP.f32Div).simd(SIMD.f32x4Splat).set(v);
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

/** swiglu(g, u, n): g ← g / (1 + exp(−g)) · u, 8 values per step (two interleaved exps); n a multiple of 8. */
function swiglu(): Func {
  const f = new Func('swiglu', [I32, I32, I32]);
  const [g, u, n] = [0, 1, 2];
  const c = expConsts(f);
  const i = f.local(I32);
  const gv = [f.local(V128), f.local(V128)];
  const ev = [f.local(V128), f.local(V128)];
  const one = f.local(V128);
  splat(f, 1).set(one);
  f.forLoop(
    i,
    () => f.i32(0),
    () => f.get(n),
    8,
    () => {
      for (let k = 0; k < 2; k++) {
        f.get(g)
          .get(i)
          .i32(2)
          .shl()
          .add()
          .v128Load(16 * k, 2)
          .set(gv[k]!);
        f.get(gv[k]!).simd(SIMD.f32x4Neg).set(ev[k]!);
      }
      emitExpInterleaved(f, c, ev);
      for (let k = 0; k < 2; k++) {
        f.get(g).get(i).i32(2).shl().add();
        f.get(gv[k]!).get(ev[k]!).get(one).simd(SIMD.f32x4Add).simd(SIMD.f32x4Div);
        f.get(u)
          .get(i)
          .i32(2)
          .shl()
          .add()
          .v128Load(16 * k, 2)
          .simd(SIMD.f32x4Mul);
        f.simd(SIMD.store, 2, 16 * k);
      }
    },
  );
  return f;
}

/**
 * rmsnorm(xp, yp, wp, op, T, dim, eps): per row t of x [T, dim], first x[t] += y[t] when yp ≠ 0 (the
 * residual add, written back to x), then out[t] = x[t] / sqrt(mean(x[t]²) + eps) ⊙ w. dim a multiple
 * of 4; the sum of squares runs in 4 float32 lanes.
 */
function rmsnorm(): Func {
  const f = new Func('rmsnorm', [I32, I32, I32, I32, I32, I32, F32]);
  const [xp, yp, wp, op, T, dim, eps] = [0, 1, 2, 3, 4, 5, 6];
  const t = f.local(I32);
  const i = f.local(I32);
  const row = f.local(I32);
  const yrow = f.local(I32);
  const orow = f.local(I32);
  const bytes = f.local(I32);
  const v = f.local(V128);
  const ss = f.local(V128);
  const inv = f.local(V128);
  const loop = (body: () => void) =>
    f.forLoop(
      i,
      () => f.i32(0),
      () => f.get(bytes),
      16,
      body,
    );
  f.get(dim).i32(2).shl().set(bytes);
  f.forLoop(
    t,
    () => f.i32(0),
    () => f.get(T),
    1,
    () => {
      f.get(t).get(bytes).mul().set(row);
      f.get(row).get(op).add().set(orow);
      f.get(row).get(yp).add().set(yrow);
      f.get(row).get(xp).add().set(row);
      f.v128Zero().set(ss);
      loop(() => {
        f.get(row).get(i).add().v128Load(0, 2).set(v);
        // x += y (the residual) when a y is given
        f.get(yp).if();
        f.get(v).get(yrow).get(i).add().v128Load(0, 2).simd(SIMD.f32x4Add).set(v);
        f.get(row).get(i).add().get(v).v128Store(0, 2);
        f.end();
        f.get(ss).get(v).get(v).simd(SIMD.f32x4Mul).simd(SIMD.f32x4Add).set(ss);
      });
      // inv = 1 / sqrt(Σ / dim + eps), splatted
      f.op(OP.f32Const, ...f32Bytes(1));
      f.get(ss).simd(SIMD.f32x4Lane, 0);
      for (let k = 1; k < 4; k++) f.get(ss).simd(SIMD.f32x4Lane, k).f32Add();
      f.get(dim).op(0xb3 /* f32.convert_i32_u */).op(OP.f32Div).get(eps).f32Add();
      f.op(0x91 /* f32.sqrt */).op(OP.f32Div).simd(SIMD.f32x4Splat).set(inv);
      loop(() => {
        f.get(orow).get(i).add();
        f.get(row).get(i).add().v128Load(0, 2).get(inv).simd(SIMD.f32x4Mul);
        f.get(wp).get(i).add().v128Load(0, 2).simd(SIMD.f32x4Mul);
        f.v128Store(0, 2);
      });
    },
  );
  return f;
}

/**
 * rope(xp, T, width, hd, cosp, sinp): rotates the interleaved pairs (2i, 2i+1) of every head of T
 * rows of width `width`, row t by the angles of table row t: cos/sin [T, hd/2] (the caller passes
 * the tables from the first row's position on). hd a multiple of 4: two pairs per step,
 * x·[c c] + swap(x)·[−s s].
 */
function rope(): Func {
  const f = new Func('rope', [I32, I32, I32, I32, I32, I32]);
  const [xp, T, width, hd, cosp, sinp] = [0, 1, 2, 3, 4, 5];
  const t = f.local(I32);
  const h = f.local(I32);
  const i = f.local(I32);
  const row = f.local(I32);
  const tab = f.local(I32);
  const x = f.local(V128);
  const cv = f.local(V128);
  const sv = f.local(V128);
  const sign = f.local(V128);
  const halfBytes = f.local(I32);
  const dup = [0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7];
  const swap = [4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11];
  f.simd(SIMD.const, ...new Uint8Array(Float32Array.of(-1, 1, -1, 1).buffer)).set(sign);
  f.get(hd).i32(1).op(0x76 /* i32.shr_u */).i32(2).shl().set(halfBytes);
  f.forLoop(
    t,
    () => f.i32(0),
    () => f.get(T),
    1,
    () => {
      f.get(t).get(width).mul().i32(2).shl().get(xp).add().set(row);
      // heads: h steps by hd, a run-time value, so this loop is written out
      f.i32(0).set(h);
      f.block().loop();
      f.get(h).get(width).geS().brIf(1);
      f.get(t).get(halfBytes).mul().set(tab); // byte offset of table row t
      f.forLoop(
        i,
        () => f.i32(0),
        () => f.get(hd),
        4,
        () => {
          // cos/sin of pairs i/2, i/2 + 1, each duplicated over its two lanes
          f.get(cosp).get(tab).add().v128Load64Splat(0, 2).set(cv);
          f.get(cv)
            .get(cv)
            .simd(0x0d, ...dup)
            .set(cv);
          f.get(sinp).get(tab).add().v128Load64Splat(0, 2).set(sv);
          f.get(sv)
            .get(sv)
            .simd(0x0d, ...dup)
            .get(sign)
            .simd(SIMD.f32x4Mul)
            .set(sv);
          f.get(row).get(h).get(i).add().i32(2).shl().add().v128Load(0, 2).set(x);
          f.get(row).get(h).get(i).add().i32(2).shl().add();
          f.get(x).get(cv).simd(SIMD.f32x4Mul);
          f.get(x)
            .get(x)
            .simd(0x0d, ...swap)
            .get(sv)
            .simd(SIMD.f32x4Mul);
          f.simd(SIMD.f32x4Add).v128Store(0, 2);
          f.get(tab).i32(8).add().set(tab);
        },
      );
      f.get(h).get(hd).add().set(h);
      f.br(0);
      f.end().end();
    },
  );
  return f;
}

/** Module bytes importing env.memory (shared: to run on a GEMM engine's memory, see wasm-ops.ts). */
export function opsModuleBytes(shared = false): Uint8Array<ArrayBuffer> {
  return buildModule([softmaxRows(), swiglu(), attentionFunc(), rmsnorm(), rope()], {
    import: ENV_MEMORY,
    initialPages: 1,
    maxPages: 65536,
    shared,
  });
}
