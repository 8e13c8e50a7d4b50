import { F32, Func, I32, V128 } from '@nq/core/wasm';
import { type ExpConsts, emitExpInterleaved, expConsts, f32Bytes, OP, SIMD } from './simd-exp.js';

/**
 * Causal grouped-query attention for prefill as one WebAssembly SIMD function, so that no score
 * matrix, transposed copy or GEMM staging passes through JS (attention by GEMM spent more time in
 * those copies than in its products).
 *
 * attention(qp, kp, vp, op, ktp, scp, T, base, nHeads, nKvHeads, hd, scale, g0, g1, rb0, rb1), byte
 * pointers into the imported memory, for KV heads g0 ≤ g < g1 and query rows rb0 ≤ r < rb1 of each
 * (rb0 a multiple of 4, rb1 ≤ nHeads/nKvHeads·T; threads take disjoint parts, each with its own
 * scratch):
 *  - q [T, nHeads·hd]: queries at positions base … base + T − 1; k, v [S, nKvHeads·hd] with
 *    S = base + T (every stored position); out [T, nHeads·hd];
 *  - scratch: kt [hd, Spad] (Spad = S rounded up to 8) and sc [4, Spad] + 32 floats.
 * hd must be a multiple of 8. Query head h reads KV head ⌊h / group⌋, group = nHeads / nKvHeads.
 *
 * Per KV head g, K_g is transposed into kt (zero columns up to Spad). The group·T query rows of g,
 * position-major (row r = position ⌊r / group⌋, head g·group + r mod group, as in attention-gemm.ts),
 * go 4 at a time:
 *  1. scores of 4 rows × 8 keys per step: for each i < hd, two vectors of kt[i] and one broadcast
 *     q value per row, 8 accumulators, no horizontal sums; keys up to the block's longest causal
 *     length, times `scale`;
 *  2. per row, exp(s − max) over its own length (the max kept per row during 1, over its causal
 *     keys only; masked lanes 0 after exp), zeros
 *     up to the block's 8-aligned limit, and 1 / Σ;
 *  3. out = (P·V) / Σ, 8 dims at a time: two vectors of V per key and one broadcast weight per row.
 * Rows past the end (the last block) read the last row again and are not stored.
 */
export function attentionFunc(): Func {
  // 11 i32 (pointers and sizes), the f32 scale, then g0, g1, rb0, rb1
  const f = new Func('attention', [...Array(11).fill(I32), F32, ...Array(4).fill(I32)]);
  const [qp, kp, vp, op, ktp, scp, T, base, nHeads, nKvHeads, hd, scale, g0, g1, rb0, rb1] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
  ];
  const c = expConsts(f);
  const L = () => f.local(I32);
  const qDim = L();
  const kvDim = L();
  const group = L();
  const rows = L();
  const S = L();
  const spad = L();
  const g = L();
  const rb = L();
  const p = L();
  const i = L();
  const d = L();
  const r = L();
  const maxLen = L();
  const src = L();
  const kpt = L();
  const vpt = L();
  const qa = [L(), L(), L(), L()];
  const oa = [L(), L(), L(), L()];
  const lena = [L(), L(), L(), L()];
  const scRow = [L(), L(), L(), L()];
  const invp = L();
  const acc = Array.from({ length: 8 }, () => f.local(V128));
  const k0 = f.local(V128);
  const k1 = f.local(V128);
  const s = f.local(V128);
  const scaleV = f.local(V128);
  const sm = {
    row: L(),
    len: L(),
    lim: L(),
    j: L(),
    idx: f.local(V128),
    idx2: f.local(V128),
    eight: f.local(V128),
    lenv: f.local(V128),
    four: f.local(V128),
    iota: f.local(V128),
    ninf: f.local(V128),
    zero: f.local(V128),
    acc: f.local(V128),
    acc2: f.local(V128),
    v: f.local(V128),
    v2: f.local(V128),
    mxv: f.local(V128),
  };

  f.get(nHeads).get(hd).mul().set(qDim);
  f.get(nKvHeads).get(hd).mul().set(kvDim);
  f.get(nHeads).get(nKvHeads).op(OP.i32DivU).set(group);
  f.get(T).get(group).mul().set(rows);
  f.get(base).get(T).add().set(S);
  f.get(S).i32(7).add().i32(-8).op(0x71 /* i32.and */).set(spad);
  f.get(scale).simd(SIMD.f32x4Splat).set(scaleV);
  f.simd(SIMD.const, ...new Uint8Array(Int32Array.of(0, 1, 2, 3).buffer)).set(sm.iota);
  f.i32(4).simd(SIMD.i32x4Splat).set(sm.four);
  f.i32(8).simd(SIMD.i32x4Splat).set(sm.eight);
  f.op(OP.f32Const, ...f32Bytes(Number.NEGATIVE_INFINITY))
    .simd(SIMD.f32x4Splat)
    .set(sm.ninf);
  f.v128Zero().set(sm.zero);

  const forLoop = f.forLoop.bind(f);

  forLoop(
    g,
    () => f.get(g0),
    () => f.get(g1),
    1,
    () => {
      // kt[i·spad + p] = K[p, g·hd + i] for p < S; zeros for S ≤ p < spad.
      forLoop(
        p,
        () => f.i32(0),
        () => f.get(S),
        1,
        () => {
          f.get(p).get(kvDim).mul().get(g).get(hd).mul().add().i32(2).shl().get(kp).add().set(src);
          f.get(p).i32(2).shl().get(ktp).add().set(kpt);
          forLoop(
            i,
            () => f.i32(0),
            () => f.get(hd),
            1,
            () => {
              f.get(kpt).get(src).f32Load().f32Store();
              f.get(src).i32(4).add().set(src);
              f.get(kpt).get(spad).i32(2).shl().add().set(kpt);
            },
          );
        },
      );
      forLoop(
        p,
        () => f.get(S),
        () => f.get(spad),
        1,
        () => {
          f.get(p).i32(2).shl().get(ktp).add().set(kpt);
          forLoop(
            i,
            () => f.i32(0),
            () => f.get(hd),
            1,
            () => {
              f.get(kpt)
                .op(OP.f32Const, ...f32Bytes(0))
                .f32Store();
              f.get(kpt).get(spad).i32(2).shl().add().set(kpt);
            },
          );
        },
      );

      forLoop(
        rb,
        () => f.get(rb0),
        () => f.get(rb1),
        4,
        () => {
          // Row a: r = min(rb + a, rows − 1); its query/output addresses and causal length.
          for (let a = 0; a < 4; a++) {
            f.get(rb).i32(a).add().set(r);
            f.get(r).get(rows).ltS().if().else().get(rows).i32(1).sub().set(r).end();
            // offset (elements) = ⌊r / group⌋·qDim + (g·group + r mod group)·hd
            f.get(r).get(group).op(OP.i32DivU).get(qDim).mul();
            f.get(g).get(group).mul().get(r).get(group).op(OP.i32RemU).add().get(hd).mul().add();
            f.i32(2).shl().set(src);
            f.get(src).get(qp).add().set(qa[a]!);
            f.get(src).get(op).add().set(oa[a]!);
            f.get(base).get(r).get(group).op(OP.i32DivU).add().i32(1).add().set(lena[a]!);
          }
          f.get(lena[3]!).set(maxLen);
          for (let a = 0; a < 4; a++)
            f.get(spad)
              .i32(4 * a)
              .mul()
              .get(scp)
              .add()
              .set(scRow[a]!);
          f.get(spad).i32(16).mul().get(scp).add().set(invp);
          // Running maxima of the 4 rows (after their 1/Σ slots), from −∞.
          for (let a = 0; a < 4; a++)
            f.get(invp)
              .get(sm.ninf)
              .v128Store(64 + 16 * a, 4);

          // 1. Scores, 8 keys per step.
          forLoop(
            p,
            () => f.i32(0),
            () => f.get(maxLen),
            8,
            () => {
              for (const a of acc) f.v128Zero().set(a);
              f.get(p).i32(2).shl().get(ktp).add().set(kpt);
              f.i32(0).set(src); // byte offset of q[i] within a row
              forLoop(
                i,
                () => f.i32(0),
                () => f.get(hd),
                1,
                () => {
                  f.get(kpt).v128Load(0, 2).set(k0);
                  f.get(kpt).v128Load(16, 2).set(k1);
                  emitBroadcastStep(f, qa, src, k0, k1, s, acc);
                  f.get(src).i32(4).add().set(src);
                  f.get(kpt).get(spad).i32(2).shl().add().set(kpt);
                },
              );
              // Lane indices (key positions) of this step's two halves, for the causal mask of the maxima.
              f.get(p).simd(SIMD.i32x4Splat).get(sm.iota).simd(SIMD.i32x4Add).set(sm.idx);
              f.get(sm.idx).get(sm.four).simd(SIMD.i32x4Add).set(sm.idx2);
              for (let a = 0; a < 4; a++) {
                // sc[a·spad + p …] = scaled scores; the row's running max over keys < len_a.
                f.get(p).i32(2).shl().get(scRow[a]!).add().set(kpt);
                f.get(acc[2 * a]!)
                  .get(scaleV)
                  .simd(SIMD.f32x4Mul)
                  .set(k0);
                f.get(acc[2 * a + 1]!)
                  .get(scaleV)
                  .simd(SIMD.f32x4Mul)
                  .set(k1);
                f.get(kpt).get(k0).v128Store(0, 2);
                f.get(kpt).get(k1).v128Store(16, 2);
                f.get(lena[a]!).simd(SIMD.i32x4Splat).set(sm.lenv);
                f.get(invp);
                f.get(k0).get(sm.ninf).get(sm.idx).get(sm.lenv).simd(SIMD.i32x4LtS).simd(SIMD.bitselect);
                f.get(invp)
                  .v128Load(64 + 16 * a, 4)
                  .simd(SIMD.f32x4Pmax);
                f.get(k1).get(sm.ninf).get(sm.idx2).get(sm.lenv).simd(SIMD.i32x4LtS).simd(SIMD.bitselect);
                f.simd(SIMD.f32x4Pmax).v128Store(64 + 16 * a, 4);
              }
            },
          );

          // 2. Softmax of each row over its own length; zeros up to the 8-aligned limit.
          f.get(maxLen).i32(7).add().i32(-8).op(0x71).set(sm.lim);
          for (let a = 0; a < 4; a++) {
            f.get(scRow[a]!).set(sm.row);
            f.get(lena[a]!).set(sm.len);
            emitSoftmaxRow(f, c, sm, () => f.get(invp).v128Load(64 + 16 * a, 4));
            // 1 / Σ of row a into the scratch after the 4 score rows (kept in memory, not in a register
            // the P·V loop would then lack).
            f.get(invp)
              .get(sm.v)
              .v128Store(16 * a, 4);
          }

          // 3. out = P·V, 8 dims per step.
          forLoop(
            d,
            () => f.i32(0),
            () => f.get(hd),
            8,
            () => {
              for (const a of acc) f.v128Zero().set(a);
              f.get(g).get(hd).mul().get(d).add().i32(2).shl().get(vp).add().set(vpt);
              f.i32(0).set(src); // byte offset of column p in a score row
              forLoop(
                p,
                () => f.i32(0),
                () => f.get(maxLen),
                1,
                () => {
                  f.get(vpt).v128Load(0, 2).set(k0);
                  f.get(vpt).v128Load(16, 2).set(k1);
                  emitBroadcastStep(f, scRow, src, k0, k1, s, acc);
                  f.get(src).i32(4).add().set(src);
                  f.get(vpt).get(kvDim).i32(2).shl().add().set(vpt);
                },
              );
              for (let a = 0; a < 4; a++) {
                f.get(rb).i32(a).add().get(rows).ltS().if();
                f.get(oa[a]!).get(d).i32(2).shl().add().set(kpt);
                f.get(invp)
                  .v128Load(16 * a, 4)
                  .set(s);
                f.get(kpt)
                  .get(acc[2 * a]!)
                  .get(s)
                  .simd(SIMD.f32x4Mul)
                  .v128Store(0, 2);
                f.get(kpt)
                  .get(acc[2 * a + 1]!)
                  .get(s)
                  .simd(SIMD.f32x4Mul)
                  .v128Store(16, 2);
                f.end();
              }
            },
          );
        },
      );
    },
  );
  return f;
}

/**
 * The step both products share: for each of the 4 rows a, acc[2a], acc[2a + 1] += splat(the f32 at
 * rows[a] + off) · (b0, b1) — one broadcast value per row times 8 lanes of the other operand.
 */
function emitBroadcastStep(
  f: Func,
  rows: readonly number[],
  off: number,
  b0: number,
  b1: number,
  s: number,
  acc: readonly number[],
): void {
  for (let a = 0; a < 4; a++) {
    f.get(rows[a]!).get(off).add().simd(SIMD.load32Splat, 2, 0).set(s);
    for (const [j, b] of [
      [0, b0],
      [1, b1],
    ] as const) {
      const ac = acc[2 * a + j]!;
      f.get(ac).get(s).get(b).simd(SIMD.f32x4Mul).simd(SIMD.f32x4Add).set(ac);
    }
  }
}

interface SoftmaxLocals {
  row: number;
  len: number;
  lim: number;
  j: number;
  idx: number;
  idx2: number;
  eight: number;
  lenv: number;
  four: number;
  iota: number;
  ninf: number;
  zero: number;
  acc: number;
  acc2: number;
  v: number;
  v2: number;
  mxv: number;
}

/**
 * In place on the f32 row at byte pointer `row`: exp(x − max) over the first `len` entries (len ≥ 1),
 * max being the horizontal max of the 4 lanes `runningMax` pushes (kept by the score loop, masked),
 * exact zeros from there up to `lim` (a multiple of 8, ≥ len; entries up to lim must be readable), and 1 / Σ splatted into `v`: the
 * unnormalized softmax, its normalization left to the caller.
 */
function emitSoftmaxRow(f: Func, c: ExpConsts, l: SoftmaxLocals, runningMax: () => void): void {
  // Two vectors (8 entries) per step with their own accumulators, so the max and sum chains of the
  // two halves overlap; every step up to lim is masked, which also writes the zeros past len.
  const mask = (idx: number) => f.get(idx).get(l.lenv).simd(SIMD.i32x4LtS);
  const addr = () => f.get(l.row).get(l.j).i32(2).shl().add();
  /** for (j = 0; j < lim; j += 8) { body } with idx/idx2 the lane indices of the two halves */
  const overLim = (body: () => void) => {
    f.i32(0).set(l.j);
    f.get(l.iota).set(l.idx);
    f.get(l.iota).get(l.four).simd(SIMD.i32x4Add).set(l.idx2);
    f.loop();
    body();
    f.get(l.j).i32(8).add().set(l.j);
    f.get(l.idx).get(l.eight).simd(SIMD.i32x4Add).set(l.idx);
    f.get(l.idx2).get(l.eight).simd(SIMD.i32x4Add).set(l.idx2);
    f.get(l.j).get(l.lim).ltS().brIf(0);
    f.end();
  };
  f.get(l.len).simd(SIMD.i32x4Splat).set(l.lenv);
  // the row's max, from the running maxima the score loop kept
  runningMax();
  f.set(l.acc);
  f.get(l.acc).simd(SIMD.f32x4Lane, 0);
  for (let k = 1; k < 4; k++) f.get(l.acc).simd(SIMD.f32x4Lane, k).op(OP.f32Max);
  f.simd(SIMD.f32x4Splat).set(l.mxv);
  // e = exp(x − max), masked lanes → 0; stored and summed
  f.get(l.zero).set(l.acc);
  f.get(l.zero).set(l.acc2);
  overLim(() => {
    addr();
    f.v128Load(0, 2).get(l.mxv).simd(SIMD.f32x4Sub).set(l.v);
    addr();
    f.v128Load(16, 2).get(l.mxv).simd(SIMD.f32x4Sub).set(l.v2);
    emitExpInterleaved(f, c, [l.v, l.v2]);
    for (const [off, idx, v, acc] of [
      [0, l.idx, l.v, l.acc],
      [16, l.idx2, l.v2, l.acc2],
    ] as const) {
      f.get(v).get(l.zero);
      mask(idx);
      f.simd(SIMD.bitselect).set(v);
      addr();
      f.get(v).v128Store(off, 2);
      f.get(acc).get(v).simd(SIMD.f32x4Add).set(acc);
    }
  });
  // v = splat(1 / sum): the caller scales the row's P·V by it instead of a pass over P
  f.get(l.acc).get(l.acc2).simd(SIMD.f32x4Add).set(l.acc);
  f.op(OP.f32Const, ...f32Bytes(1));
  f.get(l.acc).simd(SIMD.f32x4Lane, 0);
  for (let k = 1; k < 4; k++) f.get(l.acc).simd(SIMD.f32x4Lane, k).f32Add();
  f.op(OP.f32Div).simd(SIMD.f32x4Splat).set(l.v);
}
