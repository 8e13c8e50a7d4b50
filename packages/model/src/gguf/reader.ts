// GGUF reader (versions 2 and 3, little-endian). Every count and length in the header is checked
// against the bytes that remain before anything is allocated for it, so a truncated, corrupt or
// hostile file fails with an NqFormatError that says what and where, never with a huge allocation.
import type { Matrix } from '@nq/core';
import { NqFormatError, NqUnsupportedError } from '@nq/core';
import { dequantizeInto, formatOf } from '@nq/kquants';
import { type ByteSource, bufferSource, fileSource } from './source.js';
import {
  GGUF_SCALAR_SIZE,
  GGUF_VALUE_TYPE,
  type GgufArrayValue,
  type GgufHeader,
  type GgufKV,
  type GgufMetadata,
  type GgufTensorInfo,
  type GgufValue,
  type GgufValueType,
} from './types.js';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_DIMS. */
const MAX_DIMS = 4;
const CHUNK = 1 << 20;
const utf8 = new TextDecoder('utf-8');

/** Sequential reader over a ByteSource, buffering CHUNK bytes at a time. */
class Cursor {
  private buf = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private base = 0;
  private off = 0;
  constructor(readonly src: ByteSource) {}

  get pos(): number {
    return this.base + this.off;
  }
  get remaining(): number {
    return this.src.size - this.pos;
  }

  fail(problem: string): never {
    throw new NqFormatError(this.src.name, problem);
  }

  private need(n: number, what: string): void {
    if (this.off + n <= this.buf.length) return;
    if (n > this.remaining)
      this.fail(`truncated: ${what} at byte ${this.pos} needs ${n} bytes, only ${this.remaining} remain`);
    const pos = this.pos;
    const len = Math.min(Math.max(n, CHUNK), this.src.size - pos);
    const bytes = this.src.read(pos, len);
    // Copy into an own, aligned buffer so typed-array views over it are always legal.
    this.buf = new Uint8Array(bytes);
    this.view = new DataView(this.buf.buffer);
    this.base = pos;
    this.off = 0;
  }

  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const b = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return b;
  }
  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.off++);
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.off, true);
    this.off += 4;
    return v;
  }
  /** A u64 that must fit in a JS number (counts, lengths, dims, offsets). */
  u64n(what: string): number {
    this.need(8, what);
    const v = this.view.getBigUint64(this.off, true);
    this.off += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER))
      this.fail(`${what} at byte ${this.pos - 8} is ${v}, beyond any real file`);
    return Number(v);
  }
  string(what: string): string {
    const n = this.u64n(`${what} length`);
    if (n > this.remaining)
      this.fail(`${what} at byte ${this.pos - 8} claims ${n} bytes but only ${this.remaining} remain`);
    return utf8.decode(this.bytes(n, what));
  }

  scalar(type: number, what: string): number | bigint | boolean {
    const size = GGUF_SCALAR_SIZE[type]!;
    this.need(size, what);
    const v = this.view;
    const o = this.off;
    this.off += size;
    switch (type) {
      case GGUF_VALUE_TYPE.UINT8:
        return v.getUint8(o);
      case GGUF_VALUE_TYPE.INT8:
        return v.getInt8(o);
      case GGUF_VALUE_TYPE.UINT16:
        return v.getUint16(o, true);
      case GGUF_VALUE_TYPE.INT16:
        return v.getInt16(o, true);
      case GGUF_VALUE_TYPE.UINT32:
        return v.getUint32(o, true);
      case GGUF_VALUE_TYPE.INT32:
        return v.getInt32(o, true);
      case GGUF_VALUE_TYPE.FLOAT32:
        return v.getFloat32(o, true);
      case GGUF_VALUE_TYPE.BOOL: {
        const b = v.getUint8(o);
        if (b > 1) this.fail(`${what} at byte ${o + this.base} is a bool of value ${b} (must be 0 or 1)`);
        return b === 1;
      }
      case GGUF_VALUE_TYPE.UINT64: {
        const x = v.getBigUint64(o, true);
        return x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x;
      }
      case GGUF_VALUE_TYPE.INT64: {
        const x = v.getBigInt64(o, true);
        return x <= BigInt(Number.MAX_SAFE_INTEGER) && x >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(x) : x;
      }
      case GGUF_VALUE_TYPE.FLOAT64:
        return v.getFloat64(o, true);
      default:
        return this.fail(`${what}: unknown scalar type ${type}`);
    }
  }

  array(what: string): { itemType: GgufValueType; value: GgufArrayValue } {
    const itemType = this.u32(`${what} element type`);
    const count = this.u64n(`${what} count`);
    if (itemType === GGUF_VALUE_TYPE.ARRAY)
      throw new NqUnsupportedError(
        `${this.src.name}: ${what} is an array of arrays`,
        'GGUF arrays of scalars or strings are supported (as in llama.cpp)',
      );
    if (itemType === GGUF_VALUE_TYPE.STRING) {
      // Every string costs at least its 8-byte length.
      if (count > this.remaining / 8)
        this.fail(`${what} claims ${count} strings but only ${this.remaining} bytes remain`);
      const out: string[] = new Array(count);
      for (let i = 0; i < count; i++) out[i] = this.string(`${what}[${i}]`);
      return { itemType, value: out };
    }
    const size = GGUF_SCALAR_SIZE[itemType];
    if (size === undefined)
      this.fail(`${what} at byte ${this.pos - 12} has unknown element type ${itemType}`);
    if (count > this.remaining / size)
      this.fail(`${what} claims ${count} elements of ${size} bytes but only ${this.remaining} bytes remain`);
    const raw = this.bytes(count * size, what);
    const copy = raw.slice().buffer; // aligned copy
    let value: GgufArrayValue;
    switch (itemType) {
      case GGUF_VALUE_TYPE.UINT8:
        value = new Uint8Array(copy);
        break;
      case GGUF_VALUE_TYPE.INT8:
        value = new Int8Array(copy);
        break;
      case GGUF_VALUE_TYPE.UINT16:
        value = new Uint16Array(copy);
        break;
      case GGUF_VALUE_TYPE.INT16:
        value = new Int16Array(copy);
        break;
      case GGUF_VALUE_TYPE.UINT32:
        value = new Uint32Array(copy);
        break;
      case GGUF_VALUE_TYPE.INT32:
        value = new Int32Array(copy);
        break;
      case GGUF_VALUE_TYPE.FLOAT32:
        value = new Float32Array(copy);
        break;
      case GGUF_VALUE_TYPE.FLOAT64:
        value = new Float64Array(copy);
        break;
      case GGUF_VALUE_TYPE.UINT64:
        value = new BigUint64Array(copy);
        break;
      case GGUF_VALUE_TYPE.INT64:
        value = new BigInt64Array(copy);
        break;
      default: {
        // BOOL
        const b: boolean[] = new Array(count);
        for (let i = 0; i < count; i++) {
          if (raw[i]! > 1) this.fail(`${what}[${i}] is a bool of value ${raw[i]}`);
          b[i] = raw[i] === 1;
        }
        value = b;
      }
    }
    return { itemType: itemType as GgufValueType, value };
  }
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/** Parses the header (metadata and tensor infos) of a GGUF held by a ByteSource. */
export function parseGgufHeader(src: ByteSource): GgufHeader {
  const c: Cursor = new Cursor(src);
  if (src.size < 24) c.fail(`is ${src.size} bytes, too short for a GGUF header (24 bytes)`);
  const magic = c.u32('magic');
  if (magic !== GGUF_MAGIC) {
    const seen = [magic & 255, (magic >>> 8) & 255, (magic >>> 16) & 255, magic >>> 24]
      .map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.'))
      .join('');
    c.fail(
      `not a GGUF file: magic is "${seen}" (0x${magic.toString(16)}), expected "GGUF"${seen === 'FUGG' ? ' (a big-endian GGUF, not supported)' : ''}`,
    );
  }
  const version = c.u32('version');
  if (version === 1)
    throw new NqUnsupportedError(
      `${src.name}: GGUF version 1`,
      'GGUF versions 2 and 3 are supported; convert the file with a current llama.cpp',
    );
  if (version !== 2 && version !== 3) c.fail(`GGUF version ${version} is unknown (supported: 2, 3)`);
  const nTensors = c.u64n('tensor count');
  const nKv = c.u64n('metadata count');
  // Minimum encoded sizes: a KV is key length (8) + type (4) + 1 byte; a tensor info is name length
  // (8) + n_dims (4) + one dim (8) + type (4) + offset (8).
  if (nKv > c.remaining / 13)
    c.fail(`claims ${nKv} metadata entries, more than ${c.remaining} bytes can hold`);
  if (nTensors > c.remaining / 32)
    c.fail(`claims ${nTensors} tensors, more than ${c.remaining} bytes can hold`);

  const kv: GgufKV[] = [];
  const metadata: GgufMetadata = Object.create(null);
  for (let i = 0; i < nKv; i++) {
    const key = c.string(`metadata key #${i}`);
    if (key in metadata) c.fail(`duplicate metadata key "${key}"`);
    const type = c.u32(`type of "${key}"`);
    let entry: GgufKV;
    if (type === GGUF_VALUE_TYPE.STRING) entry = { key, type, value: c.string(`"${key}"`) };
    else if (type === GGUF_VALUE_TYPE.ARRAY) {
      const a = c.array(`"${key}"`);
      entry = { key, type, itemType: a.itemType, value: a.value };
    } else if (GGUF_SCALAR_SIZE[type] !== undefined)
      entry = { key, type: type as GgufValueType, value: c.scalar(type, `"${key}"`) };
    else c.fail(`metadata "${key}" has unknown type ${type}`);
    kv.push(entry);
    metadata[key] = entry.value;
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const alignKv = kv.find((e) => e.key === 'general.alignment');
  if (alignKv) {
    if (alignKv.type !== GGUF_VALUE_TYPE.UINT32 || !isPowerOfTwo(alignKv.value as number)) {
      c.fail(
        `general.alignment must be a u32 power of two, got ${String(alignKv.value)} (type ${alignKv.type})`,
      );
    }
    alignment = alignKv.value as number;
  }

  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const name = c.string(`tensor #${i} name`);
    if (names.has(name)) c.fail(`duplicate tensor name "${name}"`);
    names.add(name);
    const nDims = c.u32(`tensor "${name}" n_dims`);
    if (nDims < 1 || nDims > MAX_DIMS)
      c.fail(`tensor "${name}" has ${nDims} dimensions (1..${MAX_DIMS} allowed)`);
    const dims: number[] = [];
    let elements = 1;
    for (let d = 0; d < nDims; d++) {
      const ne = c.u64n(`tensor "${name}" dim ${d}`);
      dims.push(ne);
      elements *= ne;
      if (elements > Number.MAX_SAFE_INTEGER)
        c.fail(`tensor "${name}" has an absurd element count (dims ${dims.join('×')}…)`);
    }
    const type = c.u32(`tensor "${name}" type`);
    let f: ReturnType<typeof formatOf>;
    try {
      f = formatOf(type);
    } catch {
      c.fail(`tensor "${name}" has unknown ggml type ${type}`);
    }
    if (dims[0]! % f.blockSize !== 0)
      c.fail(`tensor "${name}" rows of ${dims[0]} are not whole ${f.name} blocks of ${f.blockSize}`);
    const offset = c.u64n(`tensor "${name}" offset`);
    if (offset % alignment !== 0)
      c.fail(`tensor "${name}" offset ${offset} is not a multiple of the alignment ${alignment}`);
    const byteSize = (elements / f.blockSize) * f.typeSize;
    tensors.push({ name, dims, type, typeName: f.name, offset, byteSize, elements });
  }

  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  const dataBytes = src.size - dataOffset;
  for (const t of tensors) {
    if (t.offset + t.byteSize > dataBytes) {
      c.fail(
        `tensor "${t.name}" (${t.byteSize} bytes at data offset ${t.offset}) ends beyond the end of the file: the data section holds ${Math.max(0, dataBytes)} bytes (truncated file?)`,
      );
    }
  }
  // Tensors must not overlap (llama.cpp requires them packed in order; nq only requires disjoint).
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const p = sorted[i - 1]!;
    if (p.offset + p.byteSize > sorted[i]!.offset)
      c.fail(`tensors "${p.name}" and "${sorted[i]!.name}" overlap`);
  }
  return { version, alignment, dataOffset, fileSize: src.size, kv, metadata, tensors };
}

/** A parsed GGUF whose tensors are read on demand with positioned reads. */
export class GgufFile implements GgufHeader {
  readonly version: number;
  readonly alignment: number;
  readonly dataOffset: number;
  readonly fileSize: number;
  readonly kv: GgufKV[];
  readonly metadata: GgufMetadata;
  readonly tensors: GgufTensorInfo[];
  private readonly byName: Map<string, GgufTensorInfo>;

  constructor(
    private readonly src: ByteSource,
    header: GgufHeader,
  ) {
    this.version = header.version;
    this.alignment = header.alignment;
    this.dataOffset = header.dataOffset;
    this.fileSize = header.fileSize;
    this.kv = header.kv;
    this.metadata = header.metadata;
    this.tensors = header.tensors;
    this.byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  get name(): string {
    return this.src.name;
  }

  tensor(name: string): GgufTensorInfo | undefined {
    return this.byName.get(name);
  }

  /** The tensor's info, or an NqFormatError naming the missing tensor. */
  requireTensor(name: string): GgufTensorInfo {
    const t = this.byName.get(name);
    if (!t) throw new NqFormatError(this.src.name, `tensor "${name}" is missing`);
    return t;
  }

  /** The stored bytes of a tensor (its blocks, unchanged). */
  readTensorBytes(name: string): Uint8Array {
    const t = this.requireTensor(name);
    return this.src.read(this.dataOffset + t.offset, t.byteSize);
  }

  /** A tensor decoded to float32 (F32, F16, BF16, Q8_0, Q4_0/1, Q5_0/1, Q4_K, Q5_K, Q6_K). */
  readTensorF32(name: string): Float32Array {
    const t = this.requireTensor(name);
    const f = formatOf(t.type);
    if (!f.supported)
      throw new NqUnsupportedError(
        `${this.src.name}: tensor "${name}" of type ${f.name}`,
        'Readable types: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K',
      );
    const out = new Float32Array(t.elements);
    dequantizeInto(t.type, this.readTensorBytes(name), t.elements, out, 0);
    return out;
  }

  /** A 2-D tensor as a Matrix: rows = dims[1], cols = dims[0] (a weight comes out × in). */
  readMatrix(name: string): Matrix {
    const t = this.requireTensor(name);
    if (t.dims.length !== 2)
      throw new NqFormatError(
        this.src.name,
        `tensor "${name}" has dims [${t.dims.join(', ')}], expected 2-D`,
      );
    return { rows: t.dims[1]!, cols: t.dims[0]!, data: this.readTensorF32(name) };
  }

  close(): void {
    this.src.close();
  }
}

/** Opens a GGUF file and parses its header; tensors are read when asked. Call close() when done. */
export function openGguf(path: string): GgufFile {
  const src = fileSource(path);
  try {
    return new GgufFile(src, parseGgufHeader(src));
  } catch (e) {
    src.close();
    throw e;
  }
}

/** Parses a GGUF held in memory (tests, browsers, fetched files). */
export function parseGguf(bytes: Uint8Array, name = '<buffer>'): GgufFile {
  const src = bufferSource(bytes, name);
  return new GgufFile(src, parseGgufHeader(src));
}

/** Reads one metadata value of an expected kind, or undefined when absent. */
export function metaNumber(meta: GgufMetadata, key: string, file: string): number | undefined {
  const v: GgufValue | undefined = meta[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number')
    throw new NqFormatError(file, `metadata "${key}" should be a number, got ${typeof v}`);
  return v;
}

export function metaString(meta: GgufMetadata, key: string, file: string): string | undefined {
  const v = meta[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string')
    throw new NqFormatError(file, `metadata "${key}" should be a string, got ${typeof v}`);
  return v;
}
