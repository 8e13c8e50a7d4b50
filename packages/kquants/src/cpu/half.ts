// IEEE half (binary16) and bfloat16 <-> float32, exact.
//
// Encoding rounds to nearest, ties to even, as x86's F16C `vcvtps2ph` (imm 0) and ggml's portable
// fallback both do, so a scale written here equals the one llama.cpp writes for the same float.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 bit pattern of a number (after rounding it to float32). */
export function f32Bits(x: number): number {
  f32[0] = x;
  return u32[0]!;
}

/** Half bits of a float32 given by its bit pattern. */
export function f32BitsToHalf(b: number): number {
  const sign = (b >>> 16) & 0x8000;
  const a = b & 0x7fffffff;
  if (a >= 0x7f800000) return sign | (a > 0x7f800000 ? 0x7e00 : 0x7c00); // NaN (quiet) / Inf
  if (a >= 0x477ff000) return sign | 0x7c00; // ≥ 65520 rounds past 65504 to Inf
  if (a >= 0x38800000) {
    // Normal half: re-bias the exponent (127 → 15) and round away 13 mantissa bits.
    const v = a - 0x38000000;
    const h = v >>> 13;
    const rem = v & 0x1fff;
    return sign | (h + (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1) ? 1 : 0));
  }
  if (a <= 0x33000000) return sign; // ≤ 2^-25: rounds to ±0 (2^-25 is a tie, to even 0)
  // Subnormal half: count units of 2^-24. value = m · 2^(e-150), so units = m >> (126 - e).
  const e = a >>> 23;
  const m = (a & 0x7fffff) | 0x800000;
  const shift = 126 - e;
  const q = m >>> shift;
  const rem = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return sign | (q + (rem > half || (rem === half && (q & 1) === 1) ? 1 : 0));
}

/** Half bits of a number (first rounded to float32, as C does when a float is passed). */
export function toHalf(x: number): number {
  return f32BitsToHalf(f32Bits(x));
}

function halfToF32Slow(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1024 + m) * 2 ** (e - 25);
}

/** All 65536 halves decoded once (256 KiB): dequantization reads scales through this table. */
export const HALF_TO_F32: Float32Array = (() => {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) t[h] = halfToF32Slow(h);
  return t;
})();

/** float32 value of half bits. */
export function fromHalf(h: number): number {
  return HALF_TO_F32[h & 0xffff]!;
}

/** float32 value of bfloat16 bits (the upper half of a float32). */
export function fromBf16(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0]!;
}

/** bfloat16 bits of a number, round to nearest even (NaN stays NaN), as ggml's fp32_to_bf16. */
export function toBf16(x: number): number {
  const b = f32Bits(x);
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) | 0x40) & 0xffff;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}
