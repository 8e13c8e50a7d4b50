// GGUF value types and the in-memory shape of a GGUF header. Spec: ggml/docs/gguf.md.

/** gguf_type: the type tag of a metadata value. */
export const GGUF_VALUE_TYPE = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
export type GgufValueType = (typeof GGUF_VALUE_TYPE)[keyof typeof GGUF_VALUE_TYPE];

/** Bytes of one scalar of each fixed-size type (strings and arrays are variable). */
export const GGUF_SCALAR_SIZE: Readonly<Record<number, number>> = {
  0: 1,
  1: 1,
  2: 2,
  3: 2,
  4: 4,
  5: 4,
  6: 4,
  7: 1,
  10: 8,
  11: 8,
  12: 8,
};

/**
 * A metadata value as JavaScript sees it. Integers up to 2^53 are numbers (64-bit ones too; larger
 * 64-bit values are bigints). Arrays of numbers are typed arrays of the stored width; arrays of
 * strings and bools are plain arrays.
 */
export type GgufArrayValue =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigUint64Array
  | BigInt64Array
  | boolean[]
  | string[];
export type GgufValue = number | bigint | boolean | string | GgufArrayValue;

/** One metadata entry with its stored type, so a writer can reproduce it byte for byte. */
export interface GgufKV {
  key: string;
  type: GgufValueType;
  /** Element type when type is ARRAY. */
  itemType?: GgufValueType;
  value: GgufValue;
}

/** key → value view of the metadata (what tokenizers and loaders read). */
export type GgufMetadata = Record<string, GgufValue>;

export interface GgufTensorInfo {
  name: string;
  /** ggml order: dims[0] is the row length (fastest-varying); a weight out × in has dims [in, out]. */
  dims: number[];
  /** ggml type id (see @nq/kquants GGML_TYPE). */
  type: number;
  /** ggml type name ('F32', 'Q4_K', …). */
  typeName: string;
  /** Byte offset of the data relative to the start of the data section. */
  offset: number;
  /** Bytes of the data. */
  byteSize: number;
  /** Number of elements. */
  elements: number;
}

export interface GgufHeader {
  version: number;
  /** general.alignment, default 32. */
  alignment: number;
  /** Absolute file offset of the data section. */
  dataOffset: number;
  /** Total size of the file / buffer. */
  fileSize: number;
  kv: GgufKV[];
  metadata: GgufMetadata;
  tensors: GgufTensorInfo[];
}
