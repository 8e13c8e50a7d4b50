/**
 * Small floating-point element formats: FP8 E4M3 and E5M2 (OCP 8-bit FP spec / NVIDIA), FP4 E2M1
 * (OCP MX), and the E8M0 power-of-two scale of MX formats.
 *
 * A code is sign | exponent field (ebits) | mantissa field (mbits). With bias B:
 *   exponent field 0     : subnormal, value = (m / 2^mbits) · 2^(1−B)
 *   exponent field e > 0 : normal,    value = (1 + m / 2^mbits) · 2^(e−B)
 * E4M3 has no infinities; S.1111.111 is NaN, so its max is 1.75·2^8 = 448. E5M2 is IEEE-like:
 * exponent field 31 is ±inf (m = 0) or NaN; max 1.75·2^15 = 57344. E2M1 has neither: max 6.
 *
 * Encoding rounds to the nearest representable value, ties to the even mantissa (= even code), and
 * saturates to ±max by default (the usual "satfinite" cast for quantization); with saturate = false,
 * values that round past max become inf (E5M2) or NaN (E4M3) as in the non-saturating OCP mode.
 */
export interface MiniFloatFormat {
  name: 'e4m3' | 'e5m2' | 'e2m1';
  ebits: number;
  mbits: number;
  bias: number;
  /** Largest finite value. */
  max: number;
  /** Smallest normal exponent, 1 − bias. */
  emin: number;
  /** Total bits (sign included). */
  bits: number;
  hasInf: boolean;
  /** Whether the all-ones exponent with mantissa 0…1 is NaN only (E4M3) or there are no NaNs (E2M1). */
  nan: 'ieee' | 'e4m3' | 'none';
}

export const E4M3: MiniFloatFormat = {
  name: 'e4m3',
  ebits: 4,
  mbits: 3,
  bias: 7,
  max: 448,
  emin: -6,
  bits: 8,
  hasInf: false,
  nan: 'e4m3',
};
export const E5M2: MiniFloatFormat = {
  name: 'e5m2',
  ebits: 5,
  mbits: 2,
  bias: 15,
  max: 57344,
  emin: -14,
  bits: 8,
  hasInf: true,
  nan: 'ieee',
};
export const E2M1: MiniFloatFormat = {
  name: 'e2m1',
  ebits: 2,
  mbits: 1,
  bias: 1,
  max: 6,
  emin: 0,
  bits: 4,
  hasInf: false,
  nan: 'none',
};

/** Value of a code (NaN/±Inf where the format defines them). */
export function decodeMiniFloat(fmt: MiniFloatFormat, code: number): number {
  const mMask = (1 << fmt.mbits) - 1;
  const eMask = (1 << fmt.ebits) - 1;
  const sign = (code >> (fmt.ebits + fmt.mbits)) & 1 ? -1 : 1;
  const e = (code >> fmt.mbits) & eMask;
  const m = code & mMask;
  if (e === eMask) {
    if (fmt.nan === 'ieee') return m === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
    if (fmt.nan === 'e4m3' && m === mMask) return Number.NaN;
  }
  if (e === 0) return sign * m * 2 ** (fmt.emin - fmt.mbits);
  return sign * (1 + m / (1 << fmt.mbits)) * 2 ** (e - fmt.bias);
}

const RNE_MAGIC = 6755399441055744; // 1.5 · 2^52
// 2^e for e in [−1100, 1100] (Math.pow / ** are slow in V8's hot loops); 2^e = POW2[e + 1100].
const POW2 = Float64Array.from({ length: 2201 }, (_, i) => 2 ** (i - 1100));

// Exponent of a double via its bits (exact, unlike Math.log2 near powers of two).
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0; // little-endian: high word at 1

/** ⌊log2 a⌋ for a finite a > 0 (normal doubles; subnormal doubles are far below every grid here). */
export function floorLog2(a: number): number {
  f64[0] = a;
  const e = ((u32[HI]! >>> 20) & 0x7ff) - 1023;
  return e === -1023 ? Math.floor(Math.log2(a)) : e;
}

/**
 * The representable value nearest to v (ties to even mantissa), saturating at ±max (or returning
 * ±Inf / NaN when `saturate` is false and v rounds past max). NaN in → NaN out.
 */
export function roundToMiniFloat(fmt: MiniFloatFormat, v: number, saturate = true): number {
  const a = Math.abs(v);
  if (!(a > 0)) return a === 0 ? 0 : Number.NaN;
  if (a === Number.POSITIVE_INFINITY)
    return (saturate ? fmt.max : fmt.hasInf ? a : Number.NaN) * Math.sign(v);
  const e = floorLog2(a);
  // quantum (spacing of the grid) in a's binade; below 2^emin the grid is the subnormal one
  const q = POW2[(e < fmt.emin ? fmt.emin : e) - fmt.mbits + 1100]!;
  // a/q is exact (division by a power of two) and small (< 2^(mbits+2)), so the 1.5·2^52 trick
  // rounds it half to even exactly (see roundHalfEven in @nq/quant-int4)
  const r = a / q + RNE_MAGIC - RNE_MAGIC;
  let out = r * q;
  if (out > fmt.max) {
    if (saturate) out = fmt.max;
    else out = fmt.hasInf ? Number.POSITIVE_INFINITY : Number.NaN;
  }
  return v < 0 ? -out : out;
}

/**
 * The code of the nearest representable value (see roundToMiniFloat). −0 and negative values that
 * round to 0 get the sign bit (as a hardware cast does). NaN → the format's canonical NaN (E4M3:
 * S.1111.111, E5M2: S.11111.10); E2M1 has no NaN, so NaN is rejected by the callers before this.
 */
export function encodeMiniFloat(fmt: MiniFloatFormat, v: number, saturate = true): number {
  const signBit = v < 0 || Object.is(v, -0) ? 1 << (fmt.ebits + fmt.mbits) : 0;
  if (Number.isNaN(v)) return fmt.nan === 'e4m3' ? 0x7f : fmt.nan === 'ieee' ? 0x7e : 0;
  const r = Math.abs(roundToMiniFloat(fmt, v, saturate));
  return signBit | magnitudeCode(fmt, r);
}

/** Code (without sign) of a non-negative value that is exactly representable, Inf, or NaN. */
function magnitudeCode(fmt: MiniFloatFormat, r: number): number {
  const eMask = (1 << fmt.ebits) - 1;
  if (Number.isNaN(r)) return fmt.nan === 'e4m3' ? 0x7f : (eMask << fmt.mbits) | (1 << (fmt.mbits - 1));
  if (r === Number.POSITIVE_INFINITY) return eMask << fmt.mbits;
  if (r === 0) return 0;
  const e = floorLog2(r);
  if (e < fmt.emin) return r / POW2[fmt.emin - fmt.mbits + 1100]!; // subnormal: mantissa only
  const m = r / POW2[e - fmt.mbits + 1100]! - (1 << fmt.mbits);
  return ((e + fmt.bias) << fmt.mbits) | m;
}

/** All finite non-negative values of a format, ascending (for tests, tables and GPU lookups). */
export function positiveGrid(fmt: MiniFloatFormat): Float64Array {
  const vals: number[] = [];
  for (let c = 0; c < 1 << (fmt.bits - 1); c++) {
    const v = decodeMiniFloat(fmt, c);
    if (Number.isFinite(v)) vals.push(v);
  }
  return Float64Array.from(vals);
}

// ---------------------------------------------------------------- E8M0 (MX shared scale)

/** E8M0: 8-bit unsigned exponent, value 2^(code − 127); 0xFF is NaN. */
export function decodeE8M0(code: number): number {
  return code === 0xff ? Number.NaN : 2 ** (code - 127);
}

/** Code of 2^e, e clamped to the representable −127..127. */
export function encodeE8M0(e: number): number {
  const c = Math.min(Math.max(e, -127), 127) + 127;
  return c;
}
