import fs from 'node:fs';
import { NqFormatError, NqInputError, NqUnsupportedError } from '@nq/core';

/**
 * A small reader for NumPy's .npy format (versions 1.0, 2.0, 3.0), enough for reference logits,
 * token ids and activation dumps. Layout: "\x93NUMPY", major, minor, header length (u16 for v1,
 * u32 for v2/v3), a Python-dict header {'descr': '<f4', 'fortran_order': False, 'shape': (64, 4096)},
 * then the raw array. Only little-endian (or byte-sized) C-order arrays are accepted.
 */
export type NpyData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array;

export interface NpyArray {
  /** NumPy dtype descriptor as written, e.g. '<f4'. */
  dtype: string;
  shape: number[];
  data: NpyData;
}

const DTYPES: Record<string, { bytes: number; make: (buf: ArrayBuffer, off: number, n: number) => NpyData }> =
  {
    f4: { bytes: 4, make: (b, o, n) => new Float32Array(b, o, n) },
    f8: { bytes: 8, make: (b, o, n) => new Float64Array(b, o, n) },
    i1: { bytes: 1, make: (b, o, n) => new Int8Array(b, o, n) },
    u1: { bytes: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
    i2: { bytes: 2, make: (b, o, n) => new Int16Array(b, o, n) },
    u2: { bytes: 2, make: (b, o, n) => new Uint16Array(b, o, n) },
    i4: { bytes: 4, make: (b, o, n) => new Int32Array(b, o, n) },
    u4: { bytes: 4, make: (b, o, n) => new Uint32Array(b, o, n) },
    i8: { bytes: 8, make: (b, o, n) => new BigInt64Array(b, o, n) },
  };

/** Parses .npy bytes. `name` is used in error messages (a file path, usually). */
export function parseNpy(bytes: Uint8Array, name = 'npy'): NpyArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((m, i) => bytes[i] !== m))
    throw new NqFormatError(name, 'not a .npy file (missing \\x93NUMPY magic)');
  const major = bytes[6]!;
  let headerLen: number;
  let headerStart: number;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new NqFormatError(name, 'truncated .npy header');
    headerLen = dv.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new NqFormatError(name, `unknown .npy version ${major}.${bytes[7]}`);
  }
  if (headerStart + headerLen > bytes.length)
    throw new NqFormatError(name, `header length ${headerLen} runs past the end of the file`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(headerStart, headerStart + headerLen),
  );
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    throw new NqFormatError(name, `malformed .npy header ${JSON.stringify(header.trim())}`);
  if (fortran === 'True')
    throw new NqUnsupportedError(
      `.npy with fortran_order=True (${name})`,
      'Save the array in C order (np.ascontiguousarray).',
    );
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const v = Number(s.replace(/L$/, ''));
      if (!Number.isSafeInteger(v) || v < 0)
        throw new NqFormatError(name, `bad dimension "${s}" in .npy shape`);
      return v;
    });
  const order = descr[0]!;
  const kind = descr.slice(1);
  const dt = DTYPES[kind];
  if (!dt)
    throw new NqUnsupportedError(
      `.npy dtype ${descr} (${name})`,
      `Supported: ${Object.keys(DTYPES)
        .map((k) => `<${k}`)
        .join(', ')}.`,
    );
  if (order === '>' && dt.bytes > 1)
    throw new NqUnsupportedError(`big-endian .npy dtype ${descr} (${name})`, 'Save the array little-endian.');
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLen;
  const need = count * dt.bytes;
  if (bytes.length - dataStart < need)
    throw new NqFormatError(
      name,
      `truncated: shape (${shape.join(', ')}) needs ${need} data bytes, the file has ${bytes.length - dataStart}`,
    );
  // Copy into a fresh, aligned buffer so the typed array never aliases the caller's bytes.
  const buf = new ArrayBuffer(need);
  new Uint8Array(buf).set(bytes.subarray(dataStart, dataStart + need));
  return { dtype: descr, shape, data: dt.make(buf, 0, count) };
}

/** Reads a .npy file. */
export function readNpy(path: string): NpyArray {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(path);
  } catch (e) {
    throw new NqInputError(
      'path',
      `cannot read ${path} (${(e as Error).message})`,
      'Pass the path of an existing .npy file.',
      { cause: e },
    );
  }
  return parseNpy(bytes, path);
}
