import { describe, expect, it } from 'vitest';
import { NqInputError } from '../src/index.js';
import { buildModule, ENV_MEMORY, Func, I32, sleb, uleb, V128 } from '../src/wasm/index.js';

// LEB128 from its definition (spec, binary/values): split the two's-complement value into 7-bit
// groups, least significant first; emit groups until the rest is 0 (unsigned) or is the sign
// extension of the last group's bit 6 (signed); set the high bit on all but the last. Done with
// BigInt and division here, independent of the shift-based encoder under test.
function ulebRef(v: number): number[] {
  let n = BigInt(v);
  const out: number[] = [];
  for (;;) {
    const g = Number(n % 128n);
    n /= 128n;
    if (n === 0n) return [...out, g];
    out.push(g | 0x80);
  }
}
function slebRef(v: number): number[] {
  let n = BigInt(v);
  const out: number[] = [];
  for (;;) {
    const g = Number(((n % 128n) + 128n) % 128n);
    n = (n - BigInt(g)) / 128n; // floor division
    const signBit = (g & 0x40) !== 0;
    if ((n === 0n && !signBit) || (n === -1n && signBit)) return [...out, g];
    out.push(g | 0x80);
  }
}

describe('LEB128', () => {
  it('matches worked examples from the spec and the DWARF standard', () => {
    expect(uleb(0)).toEqual([0x00]);
    expect(uleb(127)).toEqual([0x7f]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(uleb(0xffffffff)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(sleb(0)).toEqual([0x00]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-64)).toEqual([0x40]);
    expect(sleb(-65)).toEqual([0xbf, 0x7f]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(sleb(-0x80000000)).toEqual([0x80, 0x80, 0x80, 0x80, 0x78]);
  });

  it('agrees with the definition on boundary and random values', () => {
    const values = [
      1,
      2,
      63,
      64,
      127,
      128,
      8191,
      8192,
      16383,
      16384,
      2 ** 21 - 1,
      2 ** 21,
      2 ** 28,
      2 ** 31 - 1,
    ];
    let x = 12345;
    for (let i = 0; i < 200; i++) {
      x = (Math.imul(x, 1103515245) + 12345) | 0;
      values.push(Math.abs(x));
    }
    for (const v of values) {
      expect(uleb(v)).toEqual(ulebRef(v));
      expect(sleb(v)).toEqual(slebRef(v));
      expect(sleb(-v)).toEqual(slebRef(-v));
    }
    expect(uleb(2 ** 32 - 1)).toEqual(ulebRef(2 ** 32 - 1));
  });

  it('rejects values outside u32 / i32 with a typed error', () => {
    expect(() => uleb(-1)).toThrow(NqInputError);
    expect(() => uleb(2 ** 32)).toThrow(NqInputError);
    expect(() => uleb(1.5)).toThrow(NqInputError);
    expect(() => sleb(2 ** 31)).toThrow(NqInputError);
    expect(() => sleb(-(2 ** 31) - 1)).toThrow(NqInputError);
  });
});

describe('buildModule', () => {
  it('assembles add(a, b, out) storing a + b as i32, which runs', () => {
    // no results in this assembler, so the sum goes to memory at byte address `out`
    const f = new Func('add', [I32, I32, I32]);
    f.get(2).get(0).get(1).add().op(0x36, 2, 0); // i32.store align=4 offset=0
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
    const bytes = buildModule([f], { import: ENV_MEMORY, initialPages: 1, maxPages: 1 });
    expect(WebAssembly.validate(bytes)).toBe(true);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    const add = inst.exports.add as (a: number, b: number, out: number) => void;
    const view = new Int32Array(memory.buffer);
    for (const [a, b] of [
      [2, 3],
      [-7, 4],
      [2 ** 31 - 1, 1], // wraps like i32
      [123456789, 987654321],
    ] as const) {
      add(a!, b!, 8);
      expect(view[2]).toBe((a! + b!) | 0);
    }
  });

  it('forLoop(i, from, limit, step, body) runs body for i = from, from + step, … < limit (none when from ≥ limit)', () => {
    // sum(from, limit, out): Σ i over a loop of step 3, stored at byte address out
    const f = new Func('sum', [I32, I32, I32]);
    const [from, limit, out] = [0, 1, 2];
    const i = f.local(I32);
    const acc = f.local(I32);
    f.i32(0).set(acc);
    f.forLoop(
      i,
      () => f.get(from),
      () => f.get(limit),
      3,
      () => f.get(acc).get(i).add().set(acc),
    );
    f.get(out).get(acc).op(0x36, 2, 0);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
    const bytes = buildModule([f], { import: ENV_MEMORY, initialPages: 1, maxPages: 1 });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    const sum = inst.exports.sum as (a: number, b: number, out: number) => void;
    const view = new Int32Array(memory.buffer);
    for (const [a, b] of [
      [0, 10],
      [2, 11],
      [-5, 4],
      [7, 7],
      [9, 3],
    ] as const) {
      let ref = 0;
      for (let k = a; k < b; k += 3) ref += k;
      sum(a, b, 4);
      expect(view[1], `from ${a} to ${b}`).toBe(ref);
    }
  });

  it('assembles a v128 kernel (f32x4 multiply-add over a defined, exported memory), which runs', () => {
    // axpy(x, y, n): y[i] += 2·x[i] for n a multiple of 4, 4 lanes at a time
    const f = new Func('axpy', [I32, I32, I32]);
    const [x, y, n] = [0, 1, 2];
    const i = f.local(I32);
    const two = f.local(V128);
    f.v128Const(new Uint8Array(Float32Array.of(2, 2, 2, 2).buffer)).set(two);
    f.i32(0).set(i);
    f.block().loop();
    f.get(i).get(n).geS().brIf(1);
    f.get(y).get(i).i32(2).shl().add(); // store address
    f.get(y).get(i).i32(2).shl().add().v128Load();
    f.get(x).get(i).i32(2).shl().add().v128Load(0, 2).get(two).f32x4Mul().f32x4Add();
    f.v128Store();
    f.get(i).i32(4).add().set(i);
    f.br(0);
    f.end().end();
    const bytes = buildModule([f], { initialPages: 1, exportAs: 'mem' });
    expect(WebAssembly.validate(bytes)).toBe(true);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    const mem = inst.exports.mem as WebAssembly.Memory;
    const axpy = inst.exports.axpy as (x: number, y: number, n: number) => void;
    const xs = new Float32Array(mem.buffer, 0, 8);
    const ys = new Float32Array(mem.buffer, 64, 8);
    xs.set([1, 2, 3, 4, 0.5, -1, 1e3, -2.25]);
    ys.set([10, 20, 30, 40, 50, 60, 70, 80]);
    const expected = Array.from(ys, (v, k) => Math.fround(v + 2 * xs[k]!));
    axpy(0, 64, 8);
    expect(Array.from(ys)).toEqual(expected);
  });

  it('emits the spec layout for a shared import and rejects a shared memory without maximum', () => {
    const f = new Func('nop', []);
    const bytes = buildModule([f], { import: ENV_MEMORY, initialPages: 1, maxPages: 65536, shared: true });
    // magic, version, then type section: 1 type, func () -> ()
    expect(Array.from(bytes.subarray(0, 14))).toEqual([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0]);
    // import entry ends with memory kind 0x02, flags 0x03 (shared, has max), min 1, max 65536
    const tail = [0x02, 0x03, 0x01, ...uleb(65536)];
    const at = Array.from(bytes).findIndex((_, k) => tail.every((b, j) => bytes[k + j] === b));
    expect(at).toBeGreaterThan(0);
    expect(WebAssembly.validate(bytes)).toBe(true);
    expect(() => buildModule([f], { import: ENV_MEMORY, initialPages: 1, shared: true })).toThrow(
      NqInputError,
    );
    expect(() => buildModule([], { initialPages: 1 })).toThrow(NqInputError);
  });
});
