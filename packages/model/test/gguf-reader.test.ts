// The GGUF reader on crafted files: every value type round-trips through the writer, and truncated,
// corrupt or hostile headers fail with typed errors before any large allocation.
import fs from 'node:fs';
import { NqFormatError, NqInputError, NqUnsupportedError } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { type GgufKV, openGguf, parseGguf, serializeGguf, GGUF_VALUE_TYPE as T } from '../src/index.js';
import { NQ5M_GGUF } from './helpers/shared.js';

const F32_GGUF = NQ5M_GGUF;

const ALL_TYPES: GgufKV[] = [
  { key: 'u8', type: T.UINT8, value: 255 },
  { key: 'i8', type: T.INT8, value: -128 },
  { key: 'u16', type: T.UINT16, value: 65535 },
  { key: 'i16', type: T.INT16, value: -32768 },
  { key: 'u32', type: T.UINT32, value: 4294967295 },
  { key: 'i32', type: T.INT32, value: -2147483648 },
  { key: 'f32', type: T.FLOAT32, value: Math.fround(0.1) },
  { key: 'bool', type: T.BOOL, value: true },
  { key: 'str', type: T.STRING, value: 'héllo ▁wörld 🦙' },
  { key: 'u64 small', type: T.UINT64, value: 2 ** 53 - 1 },
  { key: 'u64 big', type: T.UINT64, value: 2n ** 64n - 1n },
  { key: 'i64', type: T.INT64, value: -(2n ** 63n) },
  { key: 'f64', type: T.FLOAT64, value: Math.PI },
  { key: 'arr.u8', type: T.ARRAY, itemType: T.UINT8, value: new Uint8Array([1, 2, 3]) },
  { key: 'arr.i8', type: T.ARRAY, itemType: T.INT8, value: new Int8Array([-1, 2]) },
  { key: 'arr.u16', type: T.ARRAY, itemType: T.UINT16, value: new Uint16Array([7, 65535]) },
  { key: 'arr.i16', type: T.ARRAY, itemType: T.INT16, value: new Int16Array([-7]) },
  { key: 'arr.u32', type: T.ARRAY, itemType: T.UINT32, value: new Uint32Array([1, 4294967295]) },
  { key: 'arr.i32', type: T.ARRAY, itemType: T.INT32, value: new Int32Array([-5, 6]) },
  { key: 'arr.f32', type: T.ARRAY, itemType: T.FLOAT32, value: new Float32Array([0.5, -2]) },
  { key: 'arr.f64', type: T.ARRAY, itemType: T.FLOAT64, value: new Float64Array([1e300]) },
  { key: 'arr.u64', type: T.ARRAY, itemType: T.UINT64, value: new BigUint64Array([0n, 2n ** 64n - 1n]) },
  { key: 'arr.i64', type: T.ARRAY, itemType: T.INT64, value: new BigInt64Array([-1n]) },
  { key: 'arr.bool', type: T.ARRAY, itemType: T.BOOL, value: [true, false, true] },
  { key: 'arr.str', type: T.ARRAY, itemType: T.STRING, value: ['a', '', 'ü'] },
  { key: 'arr.empty', type: T.ARRAY, itemType: T.FLOAT32, value: new Float32Array(0) },
];

/** A small valid GGUF: all value types, an F32 vector and a Q8_0 matrix. */
function sample(extra: GgufKV[] = []): Uint8Array {
  const q8 = new Uint8Array(2 * 34);
  q8[1] = 0x3c; // d = 1.0 (f16 0x3c00)
  q8[2] = 5;
  return serializeGguf(
    [...ALL_TYPES, ...extra],
    [
      { name: 'vec', dims: [4], type: 'F32', data: new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer) },
      { name: 'mat', dims: [32, 2], type: 'Q8_0', data: q8 },
    ],
  );
}

/** Byte offset of the tensor info of 'vec' (its u64 name length 3, then "vec", then n_dims 1). */
function tensorInfoStart(bytes: Uint8Array): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  for (let p = 0; p + 15 < bytes.length; p++) {
    if (
      dv.getBigUint64(p, true) === 3n &&
      String.fromCharCode(...bytes.subarray(p + 8, p + 11)) === 'vec' &&
      dv.getUint32(p + 11, true) === 1
    )
      return p;
  }
  throw new Error('no tensor info for vec');
}

function expectFormatError(bytes: Uint8Array, match?: RegExp): void {
  let err: unknown = null;
  try {
    parseGguf(bytes, 'crafted.gguf');
  } catch (e) {
    err = e;
  }
  expect(err, match?.source).toBeInstanceOf(NqFormatError);
  if (match) expect((err as Error).message).toMatch(match);
}

describe('GGUF reader', () => {
  it('reads back every metadata type and tensor infos written by the writer', () => {
    const g = parseGguf(sample());
    expect(g.version).toBe(3);
    expect(g.alignment).toBe(32);
    expect(g.dataOffset % 32).toBe(0);
    expect(g.kv.map((e) => e.key)).toEqual(ALL_TYPES.map((e) => e.key));
    for (const e of ALL_TYPES) {
      const got = g.kv.find((k) => k.key === e.key)!;
      expect(got.type).toBe(e.type);
      expect(got.itemType).toBe(e.itemType);
      expect(got.value, e.key).toEqual(
        typeof e.value === 'bigint' &&
          e.value <= BigInt(Number.MAX_SAFE_INTEGER) &&
          e.value >= -BigInt(Number.MAX_SAFE_INTEGER)
          ? Number(e.value)
          : e.value,
      );
    }
    expect(g.metadata.str).toBe('héllo ▁wörld 🦙');
    expect(g.tensors.map((t) => [t.name, t.dims, t.typeName, t.offset, t.byteSize])).toEqual([
      ['vec', [4], 'F32', 0, 16],
      ['mat', [32, 2], 'Q8_0', 32, 68],
    ]);
    expect(Array.from(g.readTensorF32('vec'))).toEqual([1, 2, 3, 4]);
    const m = g.readMatrix('mat');
    expect([m.rows, m.cols, m.data[0]]).toEqual([2, 32, 5]);
    // Writing what was read gives the same bytes.
    expect(
      serializeGguf(
        g.kv,
        g.tensors.map((t) => ({ name: t.name, dims: t.dims, type: t.type, data: g.readTensorBytes(t.name) })),
      ),
    ).toEqual(sample());
  });

  it.skipIf(!fs.existsSync(F32_GGUF))(
    'reads the shipped F32 GGUF header: 23 metadata entries, 39 tensors',
    () => {
      const g = openGguf(F32_GGUF);
      try {
        expect([g.version, g.kv.length, g.tensors.length, g.alignment]).toEqual([3, 23, 39, 32]);
        expect(g.metadata['llama.embedding_length']).toBe(256);
        expect((g.metadata['tokenizer.ggml.tokens'] as string[]).length).toBe(4096);
        expect(g.metadata['tokenizer.ggml.scores']).toBeInstanceOf(Float32Array);
        expect(g.tensor('token_embd.weight')!.dims).toEqual([256, 4096]);
        expect(g.dataOffset + g.tensors.at(-1)!.offset + g.tensors.at(-1)!.byteSize).toBe(g.fileSize);
      } finally {
        g.close();
      }
    },
  );

  it('a custom general.alignment is honoured by writer and reader', () => {
    const g = parseGguf(sample([{ key: 'general.alignment', type: T.UINT32, value: 64 }]));
    expect(g.alignment).toBe(64);
    expect(g.dataOffset % 64).toBe(0);
    expect(g.tensors[1]!.offset).toBe(64);
    expect(Array.from(g.readTensorF32('vec'))).toEqual([1, 2, 3, 4]);
  });

  it('every truncation of a valid file is an NqFormatError (up to the end of the last tensor)', () => {
    const bytes = sample();
    const g = parseGguf(bytes);
    const end = g.dataOffset + g.tensors[1]!.offset + g.tensors[1]!.byteSize; // only zero padding follows
    for (let cut = 0; cut < end; cut++) expectFormatError(bytes.subarray(0, cut));
    expect(parseGguf(bytes.subarray(0, end)).tensors.length).toBe(2);
  });

  it('wrong magic, unknown or old versions', () => {
    const b = sample();
    const bad = b.slice();
    bad.set([0x47, 0x47, 0x4d, 0x4c], 0);
    expectFormatError(bad, /not a GGUF file/);
    const be = b.slice();
    be.set([0x46, 0x55, 0x47, 0x47], 0);
    expectFormatError(be, /big-endian/);
    const v1 = b.slice();
    v1[4] = 1;
    expect(() => parseGguf(v1)).toThrow(NqUnsupportedError);
    const v9 = b.slice();
    v9[4] = 9;
    expectFormatError(v9, /version 9/);
  });

  it('absurd counts and lengths fail before allocation', () => {
    const b = sample();
    const set64 = (bytes: Uint8Array, pos: number, v: bigint) =>
      new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(pos, v, true);
    const nt = b.slice();
    set64(nt, 8, 1n << 40n);
    expectFormatError(nt, /tensors/);
    const nkv = b.slice();
    set64(nkv, 16, 2n ** 63n);
    expectFormatError(nkv, /beyond any real file|metadata entries/);
    const klen = b.slice();
    set64(klen, 24, 1n << 50n); // length of the first key
    expectFormatError(klen, /claims/);
    // The first array ('arr.u8'): find its count and make it huge.
    const key = new TextEncoder().encode('arr.u8');
    let p = 0;
    for (let i = 0; i < b.length - key.length; i++) if (key.every((c, k) => b[i + k] === c)) p = i;
    const arr = b.slice();
    set64(arr, p + key.length + 4 + 4, 1n << 45n);
    expectFormatError(arr, /elements/);
    const sarr = b.slice();
    const skey = new TextEncoder().encode('arr.str');
    let q = 0;
    for (let i = 0; i < b.length - skey.length; i++) if (skey.every((c, k) => b[i + k] === c)) q = i;
    set64(sarr, q + skey.length + 4 + 4, 1n << 45n);
    expectFormatError(sarr, /strings/);
  });

  it('corrupt tensor infos: dims, types, offsets, overlaps, bad alignment, duplicates', () => {
    const b = sample();
    const at = tensorInfoStart(b);
    const dv = (x: Uint8Array) => new DataView(x.buffer, x.byteOffset);
    // info of 'vec': name len (8) 'vec' (3) n_dims (4) dim (8) type (4) offset (8)
    const nd = b.slice();
    dv(nd).setUint32(at + 11, 5, true);
    expectFormatError(nd, /dimensions/);
    const ty = b.slice();
    dv(ty).setUint32(at + 23, 77, true);
    expectFormatError(ty, /unknown ggml type 77/);
    const off = b.slice();
    dv(off).setBigUint64(at + 27, 1n << 40n, true);
    expectFormatError(off, /beyond the end of the file/);
    const mis = b.slice();
    dv(mis).setBigUint64(at + 27, 8n, true);
    expectFormatError(mis, /not a multiple of the alignment/);
    const ovl = b.slice();
    dv(ovl).setBigUint64(at + 27, 32n, true); // vec now at mat's offset
    expectFormatError(ovl, /overlap/);
    const big = b.slice();
    dv(big).setBigUint64(at + 15, 1n << 52n, true); // vec dim 2^52
    expectFormatError(big, /beyond the end|absurd/);
    const q8rows = b.slice();
    dv(q8rows).setUint32(at + 23, 8, true); // vec as Q8_0: 4 is not whole blocks of 32
    expectFormatError(q8rows, /not whole Q8_0 blocks/);
    expect(() => sample([{ key: 'general.alignment', type: T.UINT32, value: 48 }])).toThrow(NqInputError);
    const al = sample([{ key: 'general.alignment', type: T.UINT32, value: 64 }]);
    const ak = new TextEncoder().encode('general.alignment');
    for (let i = 0; i < al.length - ak.length; i++)
      if (ak.every((c, j) => al[i + j] === c)) al[i + ak.length + 4] = 48;
    expectFormatError(al, /power of two/);
    expect(() => sample([{ key: 'u8', type: T.UINT8, value: 1 }])).toThrow(NqInputError);
    // Duplicate key crafted by renaming 'i8' to 'u8' (same length).
    const dup = b.slice();
    const k = new TextEncoder().encode('i8');
    for (let i = 0; i < dup.length - 1; i++)
      if (dup[i] === k[0] && dup[i + 1] === k[1] && dup[i - 8] === 2) {
        dup[i] = 0x75;
        break;
      }
    expectFormatError(dup, /duplicate metadata key "u8"/);
  });

  it('bad value types and bools', () => {
    const b = sample();
    // The first key 'u8' has type at 24 + 8 + 2.
    const vt = b.slice();
    new DataView(vt.buffer).setUint32(34, 99, true);
    expectFormatError(vt, /unknown type 99/);
    const bo = b.slice();
    const key = new TextEncoder().encode('bool');
    for (let i = 0; i < bo.length - 4; i++)
      if (key.every((c, j) => bo[i + j] === c) && bo[i - 8] === 4) {
        bo[i + 4 + 4] = 7;
        break;
      }
    expectFormatError(bo, /bool of value 7/);
    const nested = b.slice();
    const ak = new TextEncoder().encode('arr.u8');
    for (let i = 0; i < nested.length - ak.length; i++)
      if (ak.every((c, j) => nested[i + j] === c)) {
        new DataView(nested.buffer).setUint32(i + ak.length + 4, T.ARRAY, true);
        break;
      }
    expect(() => parseGguf(nested)).toThrow(NqUnsupportedError);
  });

  it('missing tensors and non-matrix reads are typed errors', () => {
    const g = parseGguf(sample(), 'x.gguf');
    expect(() => g.readTensorF32('nope')).toThrow(/tensor "nope" is missing/);
    expect(() => g.readMatrix('vec')).toThrow(NqFormatError);
  });
});
