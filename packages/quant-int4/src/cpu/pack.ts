import { NqInputError } from '@nq/core';

/**
 * Two 4-bit codes per byte: element 2i in the low nibble, element 2i+1 in the high nibble (the
 * order llama.cpp, GPTQ/AutoGPTQ-style int4 kernels and the OCP FP4 packing use within a byte).
 * Signed codes (−8..7) are stored as their two's-complement nibble; unsigned codes (0..15) as is.
 * An odd count leaves the last high nibble 0.
 */
export function packInt4(codes: Int8Array | Uint8Array, name = 'codes'): Uint8Array {
  const signed = codes instanceof Int8Array;
  const lo = signed ? -8 : 0;
  const hi = signed ? 7 : 15;
  const n = codes.length;
  const out = new Uint8Array((n + 1) >> 1);
  for (let i = 0; i < n; i++) {
    const c = codes[i]!;
    if (c < lo || c > hi) {
      throw new NqInputError(
        name,
        `element ${i} is ${c}, outside the 4-bit range ${lo}..${hi}`,
        'Quantize with bits: 4 before packing.',
      );
    }
    out[i >> 1] |= (c & 0xf) << ((i & 1) << 2);
  }
  return out;
}

/** Inverse of packInt4: `count` codes, Int8Array (sign-extended) when `signed`, else Uint8Array. */
export function unpackInt4(packed: Uint8Array, count: number, signed: true): Int8Array;
export function unpackInt4(packed: Uint8Array, count: number, signed: false): Uint8Array;
export function unpackInt4(packed: Uint8Array, count: number, signed: boolean): Int8Array | Uint8Array;
export function unpackInt4(packed: Uint8Array, count: number, signed: boolean): Int8Array | Uint8Array {
  if (!Number.isInteger(count) || count < 0 || (count + 1) >> 1 > packed.length) {
    throw new NqInputError(
      'count',
      `${count} codes do not fit in ${packed.length} packed bytes`,
      'Pass the element count the codes were packed from.',
    );
  }
  const out = signed ? new Int8Array(count) : new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const nib = (packed[i >> 1]! >> ((i & 1) << 2)) & 0xf;
    out[i] = signed ? (nib << 28) >> 28 : nib;
  }
  return out;
}
