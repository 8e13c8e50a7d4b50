// CPU kernels of every block format, and the dispatch by type that the public API uses.
import { NqInputError } from '@nq/core';
import { byteSize, type GgmlTypeName, type KnownFormat, supportedFormatOf } from '../formats.js';
import { fromBf16, HALF_TO_F32, toBf16, toHalf } from './half.js';
import { IMATRIX_FORMATS, quantizeRowsImatrix } from './imatrix.js';
import { dequantizeQ4_0, dequantizeQ4_1, quantizeQ4_0, quantizeQ4_1 } from './q4_0.js';
import { dequantizeQ4_K, quantizeQ4_K } from './q4_k.js';
import { dequantizeQ5_0, dequantizeQ5_1, quantizeQ5_0, quantizeQ5_1 } from './q5_0.js';
import { dequantizeQ5_K, quantizeQ5_K } from './q5_k.js';
import { dequantizeQ6_K, quantizeQ6_K } from './q6_k.js';
import { dequantizeQ8_0, quantizeQ8_0 } from './q8_0.js';

export { fmaf, nearestInt, roundAway } from './fp32.js';
export * from './half.js';
export { IMATRIX_FORMATS, makeQpQuants, quantizeRowsImatrix } from './imatrix.js';
export { kMin, kScale, packKScales } from './kscales.js';
export { dequantizeQ4_0, dequantizeQ4_1, quantizeQ4_0, quantizeQ4_1 } from './q4_0.js';
export { dequantizeQ4_K, quantizeQ4_K } from './q4_k.js';
export { dequantizeQ5_0, dequantizeQ5_1, quantizeQ5_0, quantizeQ5_1 } from './q5_0.js';
export { dequantizeQ5_K, quantizeQ5_K } from './q5_k.js';
export { dequantizeQ6_K, quantizeQ6_K } from './q6_k.js';
export { dequantizeQ8_0, quantizeQ8_0 } from './q8_0.js';
export { makeQkx2Quants, makeQxQuants } from './search.js';

export interface QuantizeOptions {
  /**
   * Evaluate the K-quant searches' `a·b + c` with fused multiply-adds, as a llama.cpp build whose
   * ggml-base is compiled with FMA contraction would. Default false: strict two-rounding C
   * semantics, which reproduces the files written by the shipped llama-quantize bit for bit.
   * No effect on Q8_0 / Q4_0 / Q4_1 / Q5_0 / Q5_1.
   */
  fma?: boolean;
  /**
   * Importance of each input column (length = row length; x is rows × imatrix.length), e.g. the
   * mean of x² per channel over calibration tokens, as llama.cpp's imatrix. Switches Q4_K, Q5_K,
   * Q6_K, Q4_0, Q4_1, Q5_0, Q5_1 to llama.cpp's importance-weighted quantizers; Q8_0 and the float
   * formats ignore it, as llama.cpp does.
   */
  imatrix?: Float32Array;
}

/** Default for QuantizeOptions.fma (see kquants README: which setting reproduces llama.cpp). */
export const DEFAULT_FMA = false;

type Kernel = (src: Uint8Array, srcOff: number, nBlocks: number, out: Float32Array, outOff: number) => void;
type QKernel = (
  x: Float32Array,
  xOff: number,
  nBlocks: number,
  dst: Uint8Array,
  dstOff: number,
  fused?: boolean,
) => void;

const DEQUANT: Partial<Record<GgmlTypeName, Kernel>> = {
  Q8_0: dequantizeQ8_0,
  Q4_0: dequantizeQ4_0,
  Q4_1: dequantizeQ4_1,
  Q5_0: dequantizeQ5_0,
  Q5_1: dequantizeQ5_1,
  Q4_K: dequantizeQ4_K,
  Q5_K: dequantizeQ5_K,
  Q6_K: dequantizeQ6_K,
};

const QUANT: Partial<Record<GgmlTypeName, QKernel>> = {
  Q8_0: quantizeQ8_0,
  Q4_0: quantizeQ4_0,
  Q4_1: quantizeQ4_1,
  Q5_0: quantizeQ5_0,
  Q5_1: quantizeQ5_1,
  Q4_K: quantizeQ4_K,
  Q5_K: quantizeQ5_K,
  Q6_K: quantizeQ6_K,
};

/**
 * Decodes n weights stored as `type` in src into out[outOff..outOff+n). F32/F16/BF16 are read
 * little-endian. Exact: every value equals llama.cpp's dequantize_row_* result.
 */
export function dequantizeInto(
  type: KnownFormat | number,
  src: Uint8Array,
  n: number,
  out: Float32Array,
  outOff = 0,
): void {
  const f = supportedFormatOf(type);
  const bytes = byteSize(f.name, n);
  if (src.length < bytes) {
    throw new NqInputError(
      'src',
      `holds ${src.length} bytes but ${n} ${f.name} weights need ${bytes}`,
      'Pass the whole tensor data',
    );
  }
  if (out.length < outOff + n) {
    throw new NqInputError(
      'out',
      `has room for ${out.length - outOff} values after offset ${outOff}, need ${n}`,
      'Allocate a larger output',
    );
  }
  switch (f.name) {
    case 'F32': {
      const dv = new DataView(src.buffer, src.byteOffset, bytes);
      for (let i = 0; i < n; i++) out[outOff + i] = dv.getFloat32(4 * i, true);
      return;
    }
    case 'F16':
      for (let i = 0; i < n; i++) out[outOff + i] = HALF_TO_F32[src[2 * i]! | (src[2 * i + 1]! << 8)]!;
      return;
    case 'BF16':
      for (let i = 0; i < n; i++) out[outOff + i] = fromBf16(src[2 * i]! | (src[2 * i + 1]! << 8));
      return;
    default:
      DEQUANT[f.name]!(src, 0, n / f.blockSize, out, outOff);
  }
}

/** Decodes n weights of `type` into a new Float32Array. */
export function dequantize(type: KnownFormat | number, src: Uint8Array, n: number): Float32Array {
  const out = new Float32Array(n);
  dequantizeInto(type, src, n, out, 0);
  return out;
}

/**
 * Encodes x (length a multiple of the block size) as `type` with llama.cpp's reference
 * (non-imatrix) quantizer; returns the block bytes. NaN/Inf are rejected.
 */
export function quantize(
  type: KnownFormat | number,
  x: Float32Array,
  opts: QuantizeOptions = {},
): Uint8Array {
  const f = supportedFormatOf(type);
  const dst = new Uint8Array(byteSize(f.name, x.length));
  quantizeInto(type, x, dst, 0, opts);
  return dst;
}

/** Like quantize, writing into dst[dstOff..]. */
export function quantizeInto(
  type: KnownFormat | number,
  x: Float32Array,
  dst: Uint8Array,
  dstOff = 0,
  opts: QuantizeOptions = {},
): void {
  const f = supportedFormatOf(type);
  const bytes = byteSize(f.name, x.length);
  if (dst.length < dstOff + bytes) {
    throw new NqInputError(
      'dst',
      `has ${dst.length - dstOff} bytes after offset ${dstOff}, need ${bytes}`,
      'Allocate byteSize(type, x.length) bytes',
    );
  }
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]!)) {
      throw new NqInputError(
        'x',
        `element ${i} is ${x[i]}`,
        'Quantize finite values only (check the source tensor)',
      );
    }
  }
  const n = x.length;
  const im = opts.imatrix;
  if (im && IMATRIX_FORMATS.includes(f.name)) {
    if (im.length === 0 || im.length % f.blockSize !== 0 || n % im.length !== 0) {
      throw new NqInputError(
        'imatrix',
        `has ${im.length} entries; it needs one per column of rows that are whole ${f.name} blocks and divide x (${n} values)`,
        'Pass one importance per input column (the row length)',
      );
    }
    quantizeRowsImatrix(f.name, x, im, dst, dstOff, byteSize(f.name, im.length));
    return;
  }
  switch (f.name) {
    case 'F32': {
      const dv = new DataView(dst.buffer, dst.byteOffset + dstOff, bytes);
      for (let i = 0; i < n; i++) dv.setFloat32(4 * i, x[i]!, true);
      return;
    }
    case 'F16':
    case 'BF16': {
      const enc = f.name === 'F16' ? toHalf : toBf16;
      for (let i = 0; i < n; i++) {
        const h = enc(x[i]!);
        dst[dstOff + 2 * i] = h & 0xff;
        dst[dstOff + 2 * i + 1] = h >>> 8;
      }
      return;
    }
    default:
      QUANT[f.name]!(x, 0, n / f.blockSize, dst, dstOff, opts.fma ?? DEFAULT_FMA);
  }
}
