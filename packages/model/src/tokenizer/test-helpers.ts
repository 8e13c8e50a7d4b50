// Small readers used only by the tokenizer tests (not exported from the package): a .npy reader
// for the shipped reference id files, and a GGUF key/value reader so fromGgufMetadata can be
// checked on the shipped GGUF without depending on the package's own GGUF parser.

/** Reads a 1-D little-endian integer .npy (uint16/int32/…) into an Int32Array. */
export function readNpyInts(bytes: Uint8Array): Int32Array {
  const magic = String.fromCharCode(...bytes.subarray(0, 6));
  if (magic !== '\x93NUMPY') throw new Error('not a .npy file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6] as number;
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(headerStart, headerStart + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (/'fortran_order':\s*True/.test(header)) throw new Error('fortran order not supported');
  const dims = (shape ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const data = headerStart + headerLen;
  const out = new Int32Array(count);
  const read: Record<string, [number, (o: number) => number]> = {
    '<u2': [2, (o) => view.getUint16(o, true)],
    '<i2': [2, (o) => view.getInt16(o, true)],
    '<i4': [4, (o) => view.getInt32(o, true)],
    '<u4': [4, (o) => view.getUint32(o, true)],
    '<i8': [8, (o) => Number(view.getBigInt64(o, true))],
  };
  const r = read[descr ?? ''];
  if (r === undefined) throw new Error(`dtype ${descr} not supported`);
  if (data + count * r[0] > bytes.length) throw new Error('truncated .npy');
  for (let i = 0; i < count; i++) out[i] = r[1](data + i * r[0]);
  return out;
}

/** Reads all key/value metadata of a GGUF (v2/v3) file's header into plain JS values. */
export function readGgufMetadata(bytes: Uint8Array): Record<string, unknown> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const td = new TextDecoder('utf-8', { ignoreBOM: true });
  let pos = 0;
  /** Returns the current offset and advances past `n` bytes. */
  const take = (n: number): number => {
    const at = pos;
    pos += n;
    return at;
  };
  const u32 = () => view.getUint32(take(4), true);
  const u64 = () => Number(view.getBigUint64(take(8), true));
  const str = () => {
    const n = u64();
    const at = take(n);
    return td.decode(bytes.subarray(at, at + n));
  };
  const scalar = (type: number): unknown => {
    switch (type) {
      case 0:
        return view.getUint8(take(1));
      case 1:
        return view.getInt8(take(1));
      case 2:
        return view.getUint16(take(2), true);
      case 3:
        return view.getInt16(take(2), true);
      case 4:
        return u32();
      case 5:
        return view.getInt32(take(4), true);
      case 6:
        return view.getFloat32(take(4), true);
      case 7:
        return view.getUint8(take(1)) !== 0;
      case 8:
        return str();
      case 10:
        return view.getBigUint64(take(8), true);
      case 11:
        return view.getBigInt64(take(8), true);
      case 12:
        return view.getFloat64(take(8), true);
      case 9: {
        const itemType = u32();
        const n = u64();
        const arr: unknown[] = new Array(n);
        for (let i = 0; i < n; i++) arr[i] = scalar(itemType);
        return arr;
      }
      default:
        throw new Error(`GGUF value type ${type}`);
    }
  };
  if (u32() !== 0x46554747) throw new Error('not a GGUF file');
  u32(); // version
  u64(); // tensor count
  const kvCount = u64();
  const meta: Record<string, unknown> = {};
  for (let i = 0; i < kvCount; i++) {
    const key = str();
    meta[key] = scalar(u32());
  }
  return meta;
}
