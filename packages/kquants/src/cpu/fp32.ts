// float32 arithmetic in JavaScript, to reproduce llama.cpp's C reference quantizers bit for bit.
//
// C evaluates `float` expressions in float32 (x86-64 SSE), rounding after every operation; JS numbers
// are float64, so every step of the reference algorithms goes through Math.fround. A product of two
// float32 values is exact in float64 (48 significant bits), so fround(a*b) is the C product.
//
// Compilers may also fuse `a*b + c` into one fused multiply-add (one rounding instead of two): GCC
// does it by default (-ffp-contract=fast) wherever a product feeds only additions, once the target
// has FMA (-march=native on any recent x86). `fmaf` gives that result exactly, so the quantizers can
// follow either build; which one llama.cpp's shipped files used is decided by test against them.

export const fr = Math.fround;

/**
 * llama.cpp's nearest_int: adds 1.5·2^23 in float32 and reads the mantissa, i.e. rounds a float32
 * to the nearest integer with ties to even (valid for |f| < 2^22, as there).
 */
export function nearestInt(f: number): number {
  return fr(f + 12582912) - 12582912;
}

/** C's roundf: nearest integer, ties away from zero. */
export function roundAway(f: number): number {
  return f < 0 ? -Math.round(-f) : Math.round(f);
}

/** Correctly rounded float32 fused multiply-add of float32 inputs: fround(a·b + c) with one rounding. */
export function fmaf(a: number, b: number, c: number): number {
  const p = a * b; // exact: 24 + 24 bits fit in float64's 53
  const s = p + c;
  // TwoSum: s + e == p + c exactly.
  const bb = s - p;
  const e = p - (s - bb) + (c - bb);
  const r = fr(s);
  if (e === 0 || r === s) return r;
  // Only a float64 sum that lands exactly halfway between two float32 values can round wrongly
  // twice; then the sign of the lost part e decides the side.
  const other = 2 * s - r;
  if (fr(other) !== other) return r;
  if (e > 0) return r > s ? r : other;
  return r < s ? r : other;
}
