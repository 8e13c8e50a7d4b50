import { buildModule, ENV_MEMORY, Func, I32, V128 } from '@nq/core/wasm';

/**
 * The WebAssembly SIMD GEMM kernel: Y[t, n] = Σ_k X[t, k]·W[n, k] with X [T, K] and W [N, K]
 * row-major in linear memory, K a multiple of 4. Each exported `gemm_<TR>x<NR>` walks
 * t ∈ [t0, t1) in steps of TR and n ∈ [n0, n1) in steps of NR (the caller makes the ranges
 * divisible) and keeps TR·NR f32x4 accumulators in registers: per 4-wide k step it loads NR
 * vectors of W once and one vector per X row, then does TR·NR multiply-adds. After the k loop each
 * accumulator's 4 lanes are summed and stored.
 *
 * x86-64 has 16 vector registers: TR·NR + NR + 1 ≤ 16 avoids spills, hence 4×2 / 2×4 / 3×3 tiles;
 * the edges use 1×NR, TR×1 and 1×1.
 */
export const TILE_SHAPES: readonly [number, number][] = [
  [4, 2],
  [1, 2],
  [4, 1],
  [1, 1],
];

function gemmTile(tr: number, nr: number, unroll = 1, fma = false): Func {
  // params: xp, wp, yp, t0, t1, n0, n1, K, ldy (byte pointers, element counts)
  const f = new Func(
    `gemm_${tr}x${nr}${unroll > 1 ? `_u${unroll}` : ''}${fma ? '_fma' : ''}`,
    Array(9).fill(I32),
  );
  const [xp, wp, yp, t0, t1, n0, n1, K, ldy] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const t = f.local(I32);
  const n = f.local(I32);
  const k = f.local(I32);
  const kEnd = f.local(I32);
  const xrow = Array.from({ length: tr }, () => f.local(I32));
  const wrow = Array.from({ length: nr }, () => f.local(I32));
  const acc = Array.from({ length: tr * nr }, () => f.local(V128));
  const wv = Array.from({ length: nr }, () => f.local(V128));
  const xv = f.local(V128);

  f.get(K).i32(2).shl().set(kEnd);
  f.get(t0).set(t);
  f.block().loop();
  f.get(t).get(t1).geS().brIf(1);
  for (let i = 0; i < tr; i++) f.get(t).i32(i).add().get(K).mul().i32(2).shl().get(xp).add().set(xrow[i]!);
  f.get(n0).set(n);
  f.block().loop();
  f.get(n).get(n1).geS().brIf(1);
  for (let j = 0; j < nr; j++) f.get(n).i32(j).add().get(K).mul().i32(2).shl().get(wp).add().set(wrow[j]!);
  for (const a of acc) f.v128Zero().set(a);
  f.i32(0).set(k);
  f.loop();
  for (let u = 0; u < unroll; u++) {
    for (let j = 0; j < nr; j++)
      f.get(wrow[j]!)
        .get(k)
        .add()
        .v128Load(16 * u, 2)
        .set(wv[j]!);
    for (let i = 0; i < tr; i++) {
      f.get(xrow[i]!)
        .get(k)
        .add()
        .v128Load(16 * u, 2)
        .set(xv);
      for (let j = 0; j < nr; j++) {
        const a = acc[i * nr + j]!;
        if (fma) f.get(xv).get(wv[j]!).get(a).simd(0x105).set(a);
        else f.get(a).get(xv).get(wv[j]!).f32x4Mul().f32x4Add().set(a);
      }
    }
  }
  f.get(k)
    .i32(16 * unroll)
    .add()
    .set(k);
  f.get(k).get(kEnd).ltS().brIf(0);
  f.end();
  for (let i = 0; i < tr; i++) {
    for (let j = 0; j < nr; j++) {
      const a = acc[i * nr + j]!;
      // address = yp + ((t + i)·ldy + n + j)·4
      f.get(t).i32(i).add().get(ldy).mul().get(n).add().i32(j).add().i32(2).shl().get(yp).add();
      f.get(a)
        .f32x4Lane(0)
        .get(a)
        .f32x4Lane(1)
        .f32Add()
        .get(a)
        .f32x4Lane(2)
        .f32Add()
        .get(a)
        .f32x4Lane(3)
        .f32Add();
      f.f32Store();
    }
  }
  f.get(n).i32(nr).add().set(n);
  f.br(0);
  f.end().end();
  f.get(t).i32(tr).add().set(t);
  f.br(0);
  f.end().end();
  return f;
}

/** Module bytes exporting gemm_<TR>x<NR> for every TILE_SHAPES entry, importing env.memory. */
export function gemmModuleBytes(
  shared: boolean,
  maxPages: number,
  shapes: readonly (
    | readonly [number, number]
    | readonly [number, number, number]
    | readonly [number, number, number, boolean]
  )[] = TILE_SHAPES,
): Uint8Array<ArrayBuffer> {
  return buildModule(
    shapes.map(([a, b, u, fma]) => gemmTile(a, b, u ?? 1, fma ?? false)),
    { import: ENV_MEMORY, initialPages: 1, maxPages, shared },
  );
}
