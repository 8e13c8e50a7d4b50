// GGUF v3 writer. Layout as llama.cpp's gguf writer: header, metadata, tensor infos, zero padding
// to the alignment, then each tensor's bytes followed by zero padding to the alignment. Tensors are
// produced one at a time (a callback per tensor), so quantizing a large model never holds more than
// one tensor's bytes.
import fs from 'node:fs';
import { NqInputError } from '@nq/core';
import { byteSize, formatOf } from '@nq/kquants';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC } from './reader.js';
import { GGUF_SCALAR_SIZE, GGUF_VALUE_TYPE, type GgufKV, type GgufValue } from './types.js';

export interface GgufTensorToWrite {
  name: string;
  /** ggml order (dims[0] = row length). */
  dims: readonly number[];
  /** ggml type id or name. */
  type: number | string;
  /** The stored bytes, or a function producing them when the writer reaches this tensor. */
  data: Uint8Array | (() => Uint8Array);
}

const utf8 = new TextEncoder();

/** Growable little-endian byte buffer for the header. */
class ByteWriter {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void {
    this.ensure(1);
    this.view.setUint8(this.length++, v);
  }
  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }
  u64(v: number | bigint): void {
    this.ensure(8);
    this.view.setBigUint64(this.length, BigInt(v), true);
    this.length += 8;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  string(s: string): void {
    const b = utf8.encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  scalar(type: number, v: number | bigint | boolean, key: string): void {
    const size = GGUF_SCALAR_SIZE[type];
    if (size === undefined)
      throw new NqInputError(
        `kv "${key}"`,
        `type ${type} is not a scalar type`,
        'Use a GGUF_VALUE_TYPE scalar',
      );
    this.ensure(size);
    const o = this.length;
    const d = this.view;
    switch (type) {
      case GGUF_VALUE_TYPE.UINT8:
        d.setUint8(o, Number(v));
        break;
      case GGUF_VALUE_TYPE.INT8:
        d.setInt8(o, Number(v));
        break;
      case GGUF_VALUE_TYPE.UINT16:
        d.setUint16(o, Number(v), true);
        break;
      case GGUF_VALUE_TYPE.INT16:
        d.setInt16(o, Number(v), true);
        break;
      case GGUF_VALUE_TYPE.UINT32:
        d.setUint32(o, Number(v), true);
        break;
      case GGUF_VALUE_TYPE.INT32:
        d.setInt32(o, Number(v), true);
        break;
      case GGUF_VALUE_TYPE.FLOAT32:
        d.setFloat32(o, Number(v), true);
        break;
      case GGUF_VALUE_TYPE.BOOL:
        d.setUint8(o, v ? 1 : 0);
        break;
      case GGUF_VALUE_TYPE.UINT64:
        d.setBigUint64(o, BigInt(v), true);
        break;
      case GGUF_VALUE_TYPE.INT64:
        d.setBigInt64(o, BigInt(v), true);
        break;
      case GGUF_VALUE_TYPE.FLOAT64:
        d.setFloat64(o, Number(v), true);
        break;
    }
    this.length += size;
  }
  take(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

function writeValue(w: ByteWriter, kv: GgufKV): void {
  const { key, type, value } = kv;
  if (type === GGUF_VALUE_TYPE.STRING) {
    if (typeof value !== 'string')
      throw new NqInputError(`kv "${key}"`, 'type STRING needs a string value', 'Pass a string');
    w.string(value);
  } else if (type === GGUF_VALUE_TYPE.ARRAY) {
    const itemType = kv.itemType;
    if (itemType === undefined || itemType === GGUF_VALUE_TYPE.ARRAY)
      throw new NqInputError(`kv "${key}"`, 'an ARRAY needs a scalar or STRING itemType', 'Set itemType');
    if (typeof value !== 'object' || value === null || !('length' in value))
      throw new NqInputError(
        `kv "${key}"`,
        'type ARRAY needs an array value',
        'Pass an array or typed array',
      );
    const items = value as ArrayLike<unknown>;
    w.u32(itemType);
    w.u64(items.length);
    for (let i = 0; i < items.length; i++) {
      if (itemType === GGUF_VALUE_TYPE.STRING) w.string(String(items[i]));
      else w.scalar(itemType, items[i] as number | bigint | boolean, key);
    }
  } else {
    w.scalar(type, value as number | bigint | boolean, key);
  }
}

interface PlannedTensor {
  name: string;
  dims: readonly number[];
  type: number;
  size: number;
  offset: number;
  data: Uint8Array | (() => Uint8Array);
}

function plan(
  kv: readonly GgufKV[],
  tensors: readonly GgufTensorToWrite[],
): { header: Uint8Array; alignment: number; planned: PlannedTensor[] } {
  const keys = new Set<string>();
  for (const e of kv) {
    if (keys.has(e.key))
      throw new NqInputError('kv', `duplicate key "${e.key}"`, 'Give every metadata key once');
    keys.add(e.key);
  }
  const alignKv = kv.find((e) => e.key === 'general.alignment');
  const alignment = alignKv ? Number(alignKv.value) : GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
    throw new NqInputError(
      'general.alignment',
      `${alignment} is not a power of two`,
      'Use 32 (the default) or another power of two',
    );
  }
  const names = new Set<string>();
  const planned: PlannedTensor[] = [];
  let offset = 0;
  for (const t of tensors) {
    if (names.has(t.name))
      throw new NqInputError('tensors', `duplicate tensor "${t.name}"`, 'Give every tensor a unique name');
    names.add(t.name);
    const f = formatOf(t.type as never);
    if (t.dims.length < 1 || t.dims.length > 4 || t.dims.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw new NqInputError(
        `tensor "${t.name}"`,
        `dims [${t.dims.join(', ')}] are invalid`,
        'Give 1 to 4 non-negative integer dims (ggml order)',
      );
    }
    if (t.dims[0]! % f.blockSize !== 0) {
      throw new NqInputError(
        `tensor "${t.name}"`,
        `rows of ${t.dims[0]} are not whole ${f.name} blocks of ${f.blockSize}`,
        'Pick a type whose block size divides the row length (see fitRow in @nq/kquants)',
      );
    }
    const elements = t.dims.reduce((a, b) => a * b, 1);
    const size = byteSize(f.name, elements);
    planned.push({ name: t.name, dims: t.dims, type: f.id, size, offset, data: t.data });
    offset += Math.ceil(size / alignment) * alignment;
  }
  const w = new ByteWriter();
  w.u32(GGUF_MAGIC);
  w.u32(3);
  w.u64(planned.length);
  w.u64(kv.length);
  for (const e of kv) {
    w.string(e.key);
    w.u32(e.type);
    writeValue(w, e);
  }
  for (const t of planned) {
    w.string(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(t.type);
    w.u64(t.offset);
  }
  const pad = Math.ceil(w.length / alignment) * alignment - w.length;
  w.bytes(new Uint8Array(pad));
  return { header: w.take(), alignment, planned };
}

function tensorBytes(t: PlannedTensor): Uint8Array {
  const b = typeof t.data === 'function' ? t.data() : t.data;
  if (b.length !== t.size)
    throw new NqInputError(
      `tensor "${t.name}"`,
      `data has ${b.length} bytes, its dims and type need ${t.size}`,
      'Pass the whole tensor in the declared type',
    );
  return b;
}

/** Serializes a whole GGUF in memory (small models and tests). */
export function serializeGguf(kv: readonly GgufKV[], tensors: readonly GgufTensorToWrite[]): Uint8Array {
  const { header, alignment, planned } = plan(kv, tensors);
  const total = header.length + planned.reduce((a, t) => a + Math.ceil(t.size / alignment) * alignment, 0);
  const out = new Uint8Array(total);
  out.set(header, 0);
  for (const t of planned) out.set(tensorBytes(t), header.length + t.offset);
  return out;
}

/** Writes a GGUF file tensor by tensor. Returns the number of bytes written. */
export function writeGguf(
  path: string,
  kv: readonly GgufKV[],
  tensors: readonly GgufTensorToWrite[],
): number {
  const { header, alignment, planned } = plan(kv, tensors);
  const fd = fs.openSync(path, 'w');
  try {
    let pos = 0;
    const put = (b: Uint8Array) => {
      let done = 0;
      while (done < b.length) done += fs.writeSync(fd, b, done, b.length - done, pos + done);
      pos += b.length;
    };
    put(header);
    for (const t of planned) {
      const b = tensorBytes(t);
      put(b);
      const pad = Math.ceil(t.size / alignment) * alignment - t.size;
      if (pad) put(new Uint8Array(pad));
    }
    return pos;
  } finally {
    fs.closeSync(fd);
  }
}

/** Convenience constructors for metadata entries. */
export const kv = {
  string: (key: string, value: string): GgufKV => ({ key, type: GGUF_VALUE_TYPE.STRING, value }),
  u32: (key: string, value: number): GgufKV => ({ key, type: GGUF_VALUE_TYPE.UINT32, value }),
  f32: (key: string, value: number): GgufKV => ({ key, type: GGUF_VALUE_TYPE.FLOAT32, value }),
  bool: (key: string, value: boolean): GgufKV => ({ key, type: GGUF_VALUE_TYPE.BOOL, value }),
  strings: (key: string, value: string[]): GgufKV => ({
    key,
    type: GGUF_VALUE_TYPE.ARRAY,
    itemType: GGUF_VALUE_TYPE.STRING,
    value,
  }),
  f32s: (key: string, value: Float32Array): GgufKV => ({
    key,
    type: GGUF_VALUE_TYPE.ARRAY,
    itemType: GGUF_VALUE_TYPE.FLOAT32,
    value,
  }),
  i32s: (key: string, value: Int32Array): GgufKV => ({
    key,
    type: GGUF_VALUE_TYPE.ARRAY,
    itemType: GGUF_VALUE_TYPE.INT32,
    value,
  }),
};

/** Re-exported for callers building values by hand. */
export type { GgufValue };
