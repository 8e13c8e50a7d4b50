/**
 * A WebAssembly SIMD (f32x4) FWHT, assembled here byte by byte (no toolchain, no binary blob).
 * One exported function transforms `count` consecutive n-float chunks at byte address `ptr` in the
 * module's own memory:
 *   fwht(ptr, n, count, sptr): multiply by the n floats at `sptr` (signs·scale, same for every
 *   chunk), do the two in-vector stages with shuffles, then radix-4 (and one radix-2) passes over
 *   the whole batch with 4-float vectors.
 * The JavaScript side (rotate.ts) copies a batch of rows into the module memory, calls fwht, and
 * copies the result out: DRAM traffic stays one read of x and one write of out, the transform runs
 * in cache on 4 lanes. Used for single full-row power-of-two stages (randomHadamard / blockHadamard
 * with block = dim), 16 ≤ n ≤ 16384, when the engine validates SIMD; otherwise the scalar path runs.
 */

import { buildModule, Func, I32, sleb, uleb, V128 } from '@nq/core/wasm';

// Instruction bytes, written as arrays so the kernels below read one statement per line.
const op = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  i32: (v: number) => [0x41, ...sleb(v)],
  add: [0x6a],
  mul: [0x6c],
  ltU: [0x49],
  geU: [0x4f],
  leU: [0x4d],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  else: [0x05],
  end: [0x0b],
  br: (d: number) => [0x0c, ...uleb(d)],
  brIf: (d: number) => [0x0d, ...uleb(d)],
  load: [0xfd, 0x00, 0x04, 0x00], // v128.load align=16 offset=0
  store: [0xfd, 0x0b, 0x04, 0x00],
  vconst: (f: number[]) => [0xfd, 0x0c, ...new Uint8Array(new Float32Array(f).buffer)],
  shuffle: (lanes: number[]) => [
    0xfd,
    0x0d,
    ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]),
  ],
  fadd: [0xfd, 0xe4, 0x01],
  sub: [0x6b],
  select: [0x1b],
  f32load: [0x2a, 0x02, 0x00],
  splat: [0xfd, 0x13],
  fsub: [0xfd, 0xe5, 0x01],
  fmul: [0xfd, 0xe6, 0x01],
};

// locals: params 0 ptr, 1 n, 2 count, 3 sptr; i32 4 end, 5 p, 6 q, 7 s, 8 h, 9 base, 10 i, 11 stop,
// 12 nb, 13 h2, 14 h3; v128 15 a, 16 b, 17 c, 18 d, 19 t0, 20 t1, 21 t2, 22 t3
const [PTR, N, COUNT, SPTR, END, P, Q, S, H, BASE, I, STOP, NB, H2, H3] = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
];
const [A, B, C, D, T0, T1, T2, T3] = [15, 16, 17, 18, 19, 20, 21, 22];

const at = (addr: number, extra?: number) =>
  extra === undefined ? op.get(addr) : [...op.get(addr), ...op.get(extra), ...op.add];
const ld = (addr: number, extra?: number) => [...at(addr, extra), ...op.load];
const st = (addr: number, extra: number | undefined, value: number[]) => [
  ...at(addr, extra),
  ...value,
  ...op.store,
];
const bin = (x: number, y: number, o: number[]) => [...op.get(x), ...op.get(y), ...o];

function fwhtFunc(): Func {
  const f = new Func('fwht', [I32, I32, I32, I32]);
  for (let i = 0; i < 11; i++) f.local(I32);
  for (let i = 0; i < 8; i++) f.local(V128);
  const code: number[] = [
    // nb = n·4; end = ptr + count·nb; p = ptr
    ...op.get(N),
    ...op.i32(4),
    ...op.mul,
    ...op.set(NB),
    ...op.get(PTR),
    ...op.get(COUNT),
    ...op.get(NB),
    ...op.mul,
    ...op.add,
    ...op.set(END),
    ...op.get(PTR),
    ...op.set(P),
    // ---- pass 1: signs·scale, stages 1 and 2 inside each vec4
    ...op.loop,
    ...op.get(P),
    ...op.get(NB),
    ...op.add,
    ...op.set(Q),
    ...op.get(SPTR),
    ...op.set(S),
    ...op.loop,
    ...ld(P),
    ...ld(S),
    ...op.fmul,
    ...op.set(A),
    // r = a·[1,−1,1,−1] + a[1,0,3,2]
    ...op.get(A),
    ...op.vconst([1, -1, 1, -1]),
    ...op.fmul,
    ...op.get(A),
    ...op.get(A),
    ...op.shuffle([1, 0, 3, 2]),
    ...op.fadd,
    ...op.set(B),
    // r2 = r·[1,1,−1,−1] + r[2,3,0,1]
    ...st(P, undefined, [
      ...op.get(B),
      ...op.vconst([1, 1, -1, -1]),
      ...op.fmul,
      ...op.get(B),
      ...op.get(B),
      ...op.shuffle([2, 3, 0, 1]),
      ...op.fadd,
    ]),
    ...op.get(P),
    ...op.i32(16),
    ...op.add,
    ...op.set(P),
    ...op.get(S),
    ...op.i32(16),
    ...op.add,
    ...op.set(S),
    ...op.get(P),
    ...op.get(Q),
    ...op.ltU,
    ...op.brIf(0),
    ...op.end,
    ...op.get(P),
    ...op.get(END),
    ...op.ltU,
    ...op.brIf(0),
    ...op.end,
    // ---- vector passes, h = 16 bytes (4 floats) upwards
    ...op.i32(16),
    ...op.set(H),
    ...op.block,
    ...op.loop,
    ...op.get(H),
    ...op.get(NB),
    ...op.geU,
    ...op.brIf(1),
    ...op.get(H),
    ...op.get(H),
    ...op.add,
    ...op.set(H2),
    ...op.get(H2),
    ...op.get(H),
    ...op.add,
    ...op.set(H3),
    ...op.get(H),
    ...op.i32(4),
    ...op.mul,
    ...op.get(NB),
    ...op.leU,
    ...op.if,
    // radix-4 over distances h, 2h
    ...op.get(PTR),
    ...op.set(BASE),
    ...op.loop,
    ...op.get(BASE),
    ...op.get(H),
    ...op.add,
    ...op.set(STOP),
    ...op.get(BASE),
    ...op.set(I),
    ...op.loop,
    ...ld(I),
    ...op.set(A),
    ...ld(I, H),
    ...op.set(B),
    ...ld(I, H2),
    ...op.set(C),
    ...ld(I, H3),
    ...op.set(D),
    ...bin(A, B, op.fadd),
    ...op.set(T0),
    ...bin(A, B, op.fsub),
    ...op.set(T1),
    ...bin(C, D, op.fadd),
    ...op.set(T2),
    ...bin(C, D, op.fsub),
    ...op.set(T3),
    ...st(I, undefined, bin(T0, T2, op.fadd)),
    ...st(I, H, bin(T1, T3, op.fadd)),
    ...st(I, H2, bin(T0, T2, op.fsub)),
    ...st(I, H3, bin(T1, T3, op.fsub)),
    ...op.get(I),
    ...op.i32(16),
    ...op.add,
    ...op.set(I),
    ...op.get(I),
    ...op.get(STOP),
    ...op.ltU,
    ...op.brIf(0),
    ...op.end,
    ...op.get(BASE),
    ...op.get(H),
    ...op.i32(4),
    ...op.mul,
    ...op.add,
    ...op.set(BASE),
    ...op.get(BASE),
    ...op.get(END),
    ...op.ltU,
    ...op.brIf(0),
    ...op.end,
    ...op.get(H),
    ...op.i32(4),
    ...op.mul,
    ...op.set(H),
    ...op.else,
    // radix-2 over distance h
    ...op.get(PTR),
    ...op.set(BASE),
    ...op.loop,
    ...op.get(BASE),
    ...op.get(H),
    ...op.add,
    ...op.set(STOP),
    ...op.get(BASE),
    ...op.set(I),
    ...op.loop,
    ...ld(I),
    ...op.set(A),
    ...ld(I, H),
    ...op.set(B),
    ...st(I, undefined, bin(A, B, op.fadd)),
    ...st(I, H, bin(A, B, op.fsub)),
    ...op.get(I),
    ...op.i32(16),
    ...op.add,
    ...op.set(I),
    ...op.get(I),
    ...op.get(STOP),
    ...op.ltU,
    ...op.brIf(0),
    ...op.end,
    ...op.get(BASE),
    ...op.get(H2),
    ...op.add,
    ...op.set(BASE),
    ...op.get(BASE),
    ...op.get(END),
    ...op.ltU,
    ...op.brIf(0),
    ...op.end,
    ...op.get(H2),
    ...op.set(H),
    ...op.end, // if
    ...op.br(0),
    ...op.end, // loop
    ...op.end, // block
  ];
  return f.op(...code);
}

/**
 * mix(blk, scr, hp, m, p, tr): the H_m factor of one Kronecker block (m chunks of p floats at `blk`):
 * row a2 of the result = Σ_a h·chunk_a with h = H[a][a2] (tr = 0) or H[a2][a] (tr = 1) read as f32
 * from `hp`, accumulated in `scr` (m·p floats) with f32x4 multiply-adds, then copied back to `blk`.
 */
function mixFunc(): Func {
  const f = new Func('mix', [I32, I32, I32, I32, I32, I32]);
  for (let i = 0; i < 7; i++) f.local(I32);
  for (let i = 0; i < 2; i++) f.local(V128);
  // params 0 blk, 1 scr, 2 hp, 3 m, 4 p, 5 tr; i32 6 pb, 7 a2, 8 a, 9 dst0, 10 i, 11 j, 12 end; v128 13 hv, 14 zero
  const [BLK, SCR, HP, M, PP, TR, PB, A2, AA, DST0, II, JJ, EE] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const HV = 13;
  // biome-ignore format: one WebAssembly statement per line (operands, then opcode) reads like the wasm text format
  const code: number[] = [
    ...op.get(PP), ...op.i32(4), ...op.mul, ...op.set(PB),
    ...op.i32(0), ...op.set(A2),
    ...op.loop, // a2
    ...op.get(SCR), ...op.get(A2), ...op.get(PB), ...op.mul, ...op.add, ...op.set(DST0),
    // zero the accumulator row
    ...op.get(DST0), ...op.set(II), ...op.get(DST0), ...op.get(PB), ...op.add, ...op.set(EE),
    ...op.loop,
    ...op.get(II), ...op.vconst([0, 0, 0, 0]), ...op.store,
    ...op.get(II), ...op.i32(16), ...op.add, ...op.set(II),
    ...op.get(II), ...op.get(EE), ...op.ltU, ...op.brIf(0),
    ...op.end,
    ...op.i32(0), ...op.set(AA),
    ...op.loop, // a
    // h index: tr ? a2·m + a : a·m + a2
    ...op.get(HP),
    ...op.get(A2), ...op.get(M), ...op.mul, ...op.get(AA), ...op.add,
    ...op.get(AA), ...op.get(M), ...op.mul, ...op.get(A2), ...op.add,
    ...op.get(TR), ...op.select,
    ...op.i32(4), ...op.mul, ...op.add, ...op.f32load, ...op.splat, ...op.set(HV),
    ...op.get(DST0), ...op.set(II),
    ...op.get(BLK), ...op.get(AA), ...op.get(PB), ...op.mul, ...op.add, ...op.set(JJ),
    ...op.loop,
    ...op.get(II), ...op.get(II), ...op.load, ...op.get(JJ), ...op.load, ...op.get(HV), ...op.fmul, ...op.fadd, ...op.store,
    ...op.get(II), ...op.i32(16), ...op.add, ...op.set(II),
    ...op.get(JJ), ...op.i32(16), ...op.add, ...op.set(JJ),
    ...op.get(II), ...op.get(EE), ...op.ltU, ...op.brIf(0),
    ...op.end,
    ...op.get(AA), ...op.i32(1), ...op.add, ...op.set(AA),
    ...op.get(AA), ...op.get(M), ...op.ltU, ...op.brIf(0),
    ...op.end, // a
    ...op.get(A2), ...op.i32(1), ...op.add, ...op.set(A2),
    ...op.get(A2), ...op.get(M), ...op.ltU, ...op.brIf(0),
    ...op.end, // a2
    // copy back
    ...op.get(SCR), ...op.set(II), ...op.get(BLK), ...op.set(JJ),
    ...op.get(SCR), ...op.get(M), ...op.get(PB), ...op.mul, ...op.add, ...op.set(EE),
    ...op.loop,
    ...op.get(JJ), ...op.get(II), ...op.load, ...op.store,
    ...op.get(II), ...op.i32(16), ...op.add, ...op.set(II),
    ...op.get(JJ), ...op.i32(16), ...op.add, ...op.set(JJ),
    ...op.get(II), ...op.get(EE), ...op.ltU, ...op.brIf(0),
    ...op.end,
  ];
  return f.op(...code);
}

/** The module: fwht and mix, and its own memory (4 pages, 256 KiB, to start; grown on demand) exported as "mem". */
export function moduleBytes(): Uint8Array<ArrayBuffer> {
  return buildModule([fwhtFunc(), mixFunc()], { initialPages: 4, exportAs: 'mem' });
}

export interface WasmFwht {
  memory: WebAssembly.Memory;
  fwht: (ptr: number, n: number, count: number, sptr: number) => void;
  mix: (blk: number, scr: number, hp: number, m: number, p: number, transposed: number) => void;
}

let instance: WasmFwht | null | undefined;

/** The SIMD module, or null where WebAssembly SIMD is unavailable (then the scalar path is used). */
export function wasmFwht(): WasmFwht | null {
  if (instance !== undefined) return instance;
  try {
    const bytes = moduleBytes();
    if (typeof WebAssembly === 'undefined' || !WebAssembly.validate(bytes)) {
      instance = null;
      return null;
    }
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    const e = inst.exports as unknown as {
      fwht: WasmFwht['fwht'];
      mix: WasmFwht['mix'];
      mem: WebAssembly.Memory;
    };
    instance = { memory: e.mem, fwht: e.fwht, mix: e.mix };
  } catch {
    instance = null;
  }
  return instance;
}
