import { NqInputError, NqUnsupportedError } from '@nq/core';

/**
 * ggml tensor type ids as stored in GGUF tensor infos (ggml.h `enum ggml_type`). Only ids that nq
 * names are listed; a file may carry others (IQ*), which readers report as unsupported.
 */
export const GGML_TYPE = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  IQ2_XXS: 16,
  IQ2_XS: 17,
  IQ3_XXS: 18,
  IQ1_S: 19,
  IQ4_NL: 20,
  IQ3_S: 21,
  IQ2_S: 22,
  IQ4_XS: 23,
  I8: 24,
  I16: 25,
  I32: 26,
  I64: 27,
  F64: 28,
  IQ1_M: 29,
  BF16: 30,
} as const;

export type GgmlTypeName = keyof typeof GGML_TYPE;

/** The formats nq can read to float32 and write from float32. */
export type KnownFormat =
  | 'F32'
  | 'F16'
  | 'BF16'
  | 'Q8_0'
  | 'Q4_0'
  | 'Q4_1'
  | 'Q5_0'
  | 'Q5_1'
  | 'Q4_K'
  | 'Q5_K'
  | 'Q6_K';

/** Super-block size of the K-quants. */
export const QK_K = 256;

export interface BlockFormat {
  name: GgmlTypeName;
  id: number;
  /** Weights per block. */
  blockSize: number;
  /** Bytes per block. */
  typeSize: number;
  /** typeSize·8 / blockSize: codes + scales + mins, everything stored per weight. */
  bitsPerWeight: number;
  /** Whether nq can dequantize and quantize this format. */
  supported: boolean;
}

// Block geometry of every ggml type (ggml.c type_traits), so that a reader can size and skip any
// tensor even when it cannot decode it.
const GEOMETRY: Record<GgmlTypeName, [blockSize: number, typeSize: number]> = {
  F32: [1, 4],
  F16: [1, 2],
  Q4_0: [32, 18],
  Q4_1: [32, 20],
  Q5_0: [32, 22],
  Q5_1: [32, 24],
  Q8_0: [32, 34],
  Q8_1: [32, 36],
  Q2_K: [256, 84],
  Q3_K: [256, 110],
  Q4_K: [256, 144],
  Q5_K: [256, 176],
  Q6_K: [256, 210],
  Q8_K: [256, 292],
  IQ2_XXS: [256, 66],
  IQ2_XS: [256, 74],
  IQ3_XXS: [256, 98],
  IQ1_S: [256, 50],
  IQ4_NL: [32, 18],
  IQ3_S: [256, 110],
  IQ2_S: [256, 82],
  IQ4_XS: [256, 136],
  I8: [1, 1],
  I16: [1, 2],
  I32: [1, 4],
  I64: [1, 8],
  F64: [1, 8],
  IQ1_M: [256, 56],
  BF16: [1, 2],
};

const SUPPORTED = new Set<GgmlTypeName>([
  'F32',
  'F16',
  'BF16',
  'Q8_0',
  'Q4_0',
  'Q4_1',
  'Q5_0',
  'Q5_1',
  'Q4_K',
  'Q5_K',
  'Q6_K',
]);

const BY_NAME = new Map<string, BlockFormat>();
const BY_ID = new Map<number, BlockFormat>();
for (const [name, id] of Object.entries(GGML_TYPE) as [GgmlTypeName, number][]) {
  const [blockSize, typeSize] = GEOMETRY[name];
  const f: BlockFormat = {
    name,
    id,
    blockSize,
    typeSize,
    bitsPerWeight: (typeSize * 8) / blockSize,
    supported: SUPPORTED.has(name),
  };
  BY_NAME.set(name, f);
  BY_ID.set(id, f);
}

/** The block format for a type name ('Q4_K') or ggml id (12). Throws NqInputError for unknown ones. */
export function formatOf(type: GgmlTypeName | number): BlockFormat {
  const f = typeof type === 'number' ? BY_ID.get(type) : BY_NAME.get(type);
  if (!f) {
    throw new NqInputError(
      'type',
      `unknown ggml type ${JSON.stringify(type)}`,
      `Use one of ${[...BY_NAME.keys()].join(', ')} or their ggml ids`,
    );
  }
  return f;
}

/** Like formatOf, but also requires that nq can decode/encode the format. */
export function supportedFormatOf(type: GgmlTypeName | number): BlockFormat {
  const f = formatOf(type);
  if (!f.supported)
    throw new NqUnsupportedError(`ggml type ${f.name}`, `Supported: ${[...SUPPORTED].join(', ')}`);
  return f;
}

/** Bits per weight of a format (e.g. Q4_K: 4.5, Q6_K: 6.5625, Q8_0: 8.5). */
export function bitsPerWeight(type: GgmlTypeName | number): number {
  return formatOf(type).bitsPerWeight;
}

/** Bytes of `n` consecutive weights in a format; `n` must be a whole number of blocks. */
export function byteSize(type: GgmlTypeName | number, n: number): number {
  const f = formatOf(type);
  if (!Number.isSafeInteger(n) || n < 0 || n % f.blockSize !== 0) {
    throw new NqInputError(
      'n',
      `${n} weights is not a whole number of ${f.name} blocks of ${f.blockSize}`,
      `Pass a multiple of ${f.blockSize}`,
    );
  }
  return (n / f.blockSize) * f.typeSize;
}
