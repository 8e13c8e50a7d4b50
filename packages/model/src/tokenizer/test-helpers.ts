// Small readers used only by the tokenizer tests (not exported from the package): integer ids from
// the shipped reference .npy files (through the package's parseNpy), and a GGUF key/value reader
// so fromGgufMetadata can be checked on the shipped GGUF without depending on the package's own
// GGUF parser.

import { parseNpy } from '../npy.js';

/** Reads a little-endian integer .npy (uint16/int32/int64/…) into an Int32Array, via the package's parseNpy. */
export function readNpyInts(bytes: Uint8Array): Int32Array {
  const { dtype, data } = parseNpy(bytes, 'reference ids');
  if (data instanceof Float32Array || data instanceof Float64Array)
    throw new Error(`expected an integer .npy, got dtype ${dtype}`);
  const out = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Number(data[i]!);
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
