import { NqInputError } from '../errors.js';

/**
 * LEB128, the variable-length integer encoding of the WebAssembly binary format
 * (https://webassembly.github.io/spec/core/binary/values.html#integers): 7 bits per byte, least
 * significant group first, the high bit of every byte but the last set. Encodings here are the
 * shortest ones (the spec also accepts padded forms; we never emit them).
 */

/** Unsigned LEB128 of an integer in [0, 2^32) (u32: indices, counts, sizes, alignments, offsets). */
export function uleb(value: number): number[] {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new NqInputError(
      'value',
      `uleb needs an integer in [0, 2^32), got ${value}`,
      'Pass a u32 (index, count, size or offset).',
    );
  }
  const out: number[] = [];
  let n = value;
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/**
 * Signed LEB128 of an integer in [−2^31, 2^31) (the immediate of i32.const). The last byte's bit 6
 * is the sign, so encoding stops once the rest is all zeros (bit 6 clear) or all ones (bit 6 set).
 */
export function sleb(value: number): number[] {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
    throw new NqInputError(
      'value',
      `sleb needs an integer in [-2^31, 2^31), got ${value}`,
      'Pass an i32; reinterpret larger unsigned values with `| 0` first.',
    );
  }
  const out: number[] = [];
  let n = value;
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/** A vector: its length as uleb, then the items' bytes in order. */
export function vec(items: readonly (readonly number[])[]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

/** A name: UTF-8 bytes prefixed by their count. */
export function name(s: string): number[] {
  const bytes = Array.from(new TextEncoder().encode(s));
  return [...uleb(bytes.length), ...bytes];
}
