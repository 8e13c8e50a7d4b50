import { buildModule, ENV_MEMORY, Func, I32, V128 } from '@nq/core/wasm';

/** Rows per register tile (the host packs A in tiles of MR rows). */
export const MR = 4; // 6 measured ~7 % slower (12 accumulators + 3 operands crowd the 16 registers)

/**
 * The f64x2 WebAssembly kernel behind GPTQ's float64 linear algebra (Cholesky, triangular inverse,
 * lazy batch update): C[i, j] −= Σ_p A[i, p]·B[p, j] on whole 4 × 4 tiles.
 *
 *   gebp(ap, bp, cp, ldc, k, mt, nt)
 *
 * A is packed as mt tiles of 4 rows, each tile k steps of 4 doubles (A[4t+0..3, p] interleaved,
 * 32 bytes per p); B as nt strips of 4 columns, each k steps of 4 doubles (B[p, 4s+0..3]). So the
 * inner loop reads both operands sequentially with constant offsets and keeps the 4 × 4 tile of C in
 * 8 f64x2 accumulators (8 + 2 B vectors + 1 splat = 11 of x86-64's 16 vector registers). Strips are
 * the outer loop: one B strip (k·32 bytes) stays in L1 while every A tile of the call passes it; the
 * host keeps the A tiles of one call within L2. k must be even (two p steps per iteration; the host
 * pads with zeros). Pointers and ldc are in bytes.
 */
export function f64GemmModuleBytes(shared = false, mr = MR): Uint8Array<ArrayBuffer> {
  const f = new Func('gebp', [I32, I32, I32, I32, I32, I32, I32]);
  const [ap, bp, cp, ldc, k, mt, nt] = [0, 1, 2, 3, 4, 5, 6];
  const kb = f.local(I32); // bytes per packed B strip
  const kbA = f.local(I32); // bytes per packed A tile
  const jt = f.local(I32);
  const it = f.local(I32);
  const bstrip = f.local(I32);
  const atile = f.local(I32);
  const aptr = f.local(I32);
  const bptr = f.local(I32);
  const aend = f.local(I32);
  const crow = f.local(I32);
  const c = f.local(I32);
  const acc = Array.from({ length: 2 * mr }, () => f.local(V128)); // acc[2r + h]: row r, columns 2h..2h+1
  const b0 = f.local(V128);
  const b1 = f.local(V128);
  const a = f.local(V128);

  f.get(k).i32(32).mul().set(kb);
  f.get(k)
    .i32(8 * mr)
    .mul()
    .set(kbA);
  f.i32(0).set(jt);
  f.block().loop(); // strips
  f.get(jt).get(nt).ltU().eqz().brIf(1);
  f.get(jt).get(kb).mul().get(bp).add().set(bstrip);
  f.get(jt).i32(32).mul().get(cp).add().set(crow);
  f.get(ap).set(atile);
  f.i32(0).set(it);
  f.block().loop(); // tiles
  f.get(it).get(mt).ltU().eqz().brIf(1);
  for (const v of acc) f.v128Zero().set(v);
  f.get(atile).set(aptr);
  f.get(bstrip).set(bptr);
  f.get(atile).get(kbA).add().set(aend);
  f.loop(); // p, two steps per iteration
  for (let u = 0; u < 2; u++) {
    f.get(bptr)
      .v128Load(32 * u, 3)
      .set(b0);
    f.get(bptr)
      .v128Load(32 * u + 16, 3)
      .set(b1);
    for (let r = 0; r < mr; r++) {
      f.get(aptr)
        .v128Load64Splat(8 * mr * u + 8 * r)
        .set(a);
      f.get(acc[2 * r]!)
        .get(a)
        .get(b0)
        .f64x2Mul()
        .f64x2Add()
        .set(acc[2 * r]!);
      f.get(acc[2 * r + 1]!)
        .get(a)
        .get(b1)
        .f64x2Mul()
        .f64x2Add()
        .set(acc[2 * r + 1]!);
    }
  }
  f.get(aptr)
    .i32(16 * mr)
    .add()
    .tee(aptr);
  f.get(bptr).i32(64).add().set(bptr);
  f.get(aend).ltU().brIf(0);
  f.end();
  // C tile −= acc
  f.get(crow).set(c);
  for (let r = 0; r < mr; r++) {
    if (r > 0) f.get(c).get(ldc).add().set(c);
    for (let h = 0; h < 2; h++) {
      f.get(c);
      f.get(c)
        .v128Load(16 * h, 3)
        .get(acc[2 * r + h]!)
        .f64x2Sub();
      f.v128Store(16 * h, 3);
    }
  }
  f.get(atile).get(kbA).add().set(atile);
  f.get(crow).get(ldc).i32(mr).mul().add().set(crow);
  f.get(it).i32(1).add().set(it);
  f.br(0);
  f.end().end();
  f.get(jt).i32(1).add().set(jt);
  f.br(0);
  f.end().end();
  // shared: up to 4 GiB so worker threads run the same code on the same bytes; else 1 page, no max
  const memory = shared
    ? { import: ENV_MEMORY, initialPages: 1, maxPages: 65536, shared: true }
    : { import: ENV_MEMORY, initialPages: 1 };
  return buildModule([f], memory);
}
