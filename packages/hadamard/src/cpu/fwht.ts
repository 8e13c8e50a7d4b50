/**
 * In-place fast Walsh–Hadamard transform on float32, the CPU reference kernel.
 *
 * y = x·H_n (unnormalized, Sylvester natural order; H_n is symmetric so x·H = H·x). log2(n) butterfly
 * stages are grouped into passes so each element is loaded and stored once per 2–3 stages:
 *  - the first pass is an 8-point transform on contiguous groups (stages 1, 2, 3) and also applies the
 *    optional per-element multiplier (signs · scale), so that costs no extra pass;
 *  - then radix-4 passes (two stages each; one radix-2 or radix-8 pass evens out the count);
 *  - n > CHUNK: every CHUNK-sized piece is transformed completely first (it stays in L1), then the
 *    remaining stages run across pieces — the cache-friendly order for large n.
 * No allocation; values are combined in float64 registers and rounded to float32 on store.
 */
const CHUNK = 4096;

/**
 * FWHT of d[off, off+n). `mul` (optional, read at mulOff..mulOff+n) and `scale` multiply the input
 * before the transform (post = false) or the output after it (post = true). With `src` the input is
 * read from src[srcOff, srcOff+n) instead (the first pass copies while it transforms: an
 * out-of-place rotation then reads x once and writes out once).
 */
export function fwht(
  d: Float32Array,
  off: number,
  n: number,
  mul: Float32Array | null = null,
  mulOff = 0,
  scale = 1,
  post = false,
  src: Float32Array = d,
  srcOff = off,
): void {
  if (n <= 0 || (n & (n - 1)) !== 0) throw new RangeError(`fwht: n = ${n} is not a power of two`);
  const preMul = post ? null : mul;
  const preScale = post ? 1 : scale;
  if (n > CHUNK) {
    for (let c = 0; c < n; c += CHUNK)
      transformSmall(d, off + c, CHUNK, preMul, mulOff + c, preScale, src, srcOff + c);
    let h = CHUNK;
    while (h < n) {
      if ((n / h) % 4 === 0) {
        radix4Pass(d, off, n, h);
        h *= 4;
      } else {
        radix2Pass(d, off, n, h);
        h *= 2;
      }
    }
  } else {
    transformSmall(d, off, n, preMul, mulOff, preScale, src, srcOff);
  }
  if (post && (mul || scale !== 1)) multiply(d, off, n, mul, mulOff, scale);
}

/**
 * FWHT of `count` consecutive p-chunks (p ≤ CHUNK, p ≥ 8) at once: the first pass runs per chunk
 * (multiplier index = chunk start mod `period`, i.e. signs of length dim repeating per row), the
 * remaining passes sweep the whole batch in one call each — for small p this removes the per-chunk
 * call and loop-setup overhead that dominates a single 128-point transform.
 */
export function fwhtBatch(
  d: Float32Array,
  off: number,
  count: number,
  p: number,
  mul: Float32Array | null,
  period: number,
  scale: number,
  post: boolean,
  src: Float32Array,
  srcOff: number,
): void {
  const total = count * p;
  for (let c = 0; c < count; c++) {
    const o = c * p;
    if (post) first8(d, off + o, p, null, 0, 1, src, srcOff + o);
    else first8(d, off + o, p, mul, o % period, scale, src, srcOff + o);
  }
  let stages = Math.log2(p) - 3;
  let h = 8;
  if (stages % 2 === 1) {
    if (stages >= 3) {
      radix8Pass(d, off, total, h);
      h *= 8;
      stages -= 3;
    } else {
      radix2Pass(d, off, total, h);
      h *= 2;
      stages -= 1;
    }
  }
  for (; stages > 0; stages -= 2, h *= 4) radix4Pass(d, off, total, h);
  if (post && (mul || scale !== 1))
    for (let c = 0; c < count; c++) multiply(d, off + c * p, p, mul, (c * p) % period, scale);
}

function multiply(
  d: Float32Array,
  off: number,
  n: number,
  mul: Float32Array | null,
  mulOff: number,
  scale: number,
): void {
  if (mul) for (let i = 0; i < n; i++) d[off + i] = d[off + i]! * mul[mulOff + i]! * scale;
  else for (let i = 0; i < n; i++) d[off + i] = d[off + i]! * scale;
}

/** Full transform of n ≤ CHUNK elements (fits L1). */
function transformSmall(
  d: Float32Array,
  off: number,
  n: number,
  mul: Float32Array | null,
  mulOff: number,
  scale: number,
  src: Float32Array,
  srcOff: number,
): void {
  if (n < 8) {
    if (src !== d || srcOff !== off) for (let i = 0; i < n; i++) d[off + i] = src[srcOff + i]!;
    if (mul || scale !== 1) multiply(d, off, n, mul, mulOff, scale);
    for (let h = 1; h < n; h *= 2) radix2Pass(d, off, n, h);
    return;
  }
  first8(d, off, n, mul, mulOff, scale, src, srcOff);
  let stages = Math.log2(n) - 3;
  let h = 8;
  if (stages % 2 === 1) {
    if (stages >= 3) {
      radix8Pass(d, off, n, h);
      h *= 8;
      stages -= 3;
    } else {
      radix2Pass(d, off, n, h);
      h *= 2;
      stages -= 1;
    }
  }
  for (; stages > 0; stages -= 2, h *= 4) radix4Pass(d, off, n, h);
}

/**
 * Stages 1–3: an 8-point FWHT of every contiguous group of 8, reading from s (which may be d) and
 * with the input multiplier fused in.
 */
function first8(
  d: Float32Array,
  off: number,
  n: number,
  mul: Float32Array | null,
  mulOff: number,
  scale: number,
  s: Float32Array,
  sOff: number,
): void {
  const end = off + n;
  let m = mulOff;
  for (let i = off, j = sOff; i < end; i += 8, j += 8, m += 8) {
    let x0 = s[j]!;
    let x1 = s[j + 1]!;
    let x2 = s[j + 2]!;
    let x3 = s[j + 3]!;
    let x4 = s[j + 4]!;
    let x5 = s[j + 5]!;
    let x6 = s[j + 6]!;
    let x7 = s[j + 7]!;
    if (mul) {
      x0 *= mul[m]! * scale;
      x1 *= mul[m + 1]! * scale;
      x2 *= mul[m + 2]! * scale;
      x3 *= mul[m + 3]! * scale;
      x4 *= mul[m + 4]! * scale;
      x5 *= mul[m + 5]! * scale;
      x6 *= mul[m + 6]! * scale;
      x7 *= mul[m + 7]! * scale;
    } else if (scale !== 1) {
      x0 *= scale;
      x1 *= scale;
      x2 *= scale;
      x3 *= scale;
      x4 *= scale;
      x5 *= scale;
      x6 *= scale;
      x7 *= scale;
    }
    // stage 1 (pairs)
    const a0 = x0 + x1;
    const a1 = x0 - x1;
    const a2 = x2 + x3;
    const a3 = x2 - x3;
    const a4 = x4 + x5;
    const a5 = x4 - x5;
    const a6 = x6 + x7;
    const a7 = x6 - x7;
    // stage 2 (distance 2)
    const b0 = a0 + a2;
    const b1 = a1 + a3;
    const b2 = a0 - a2;
    const b3 = a1 - a3;
    const b4 = a4 + a6;
    const b5 = a5 + a7;
    const b6 = a4 - a6;
    const b7 = a5 - a7;
    // stage 3 (distance 4)
    d[i] = b0 + b4;
    d[i + 1] = b1 + b5;
    d[i + 2] = b2 + b6;
    d[i + 3] = b3 + b7;
    d[i + 4] = b0 - b4;
    d[i + 5] = b1 - b5;
    d[i + 6] = b2 - b6;
    d[i + 7] = b3 - b7;
  }
}

/** Stages at distances h and 2h over d[off, off+n). */
function radix4Pass(d: Float32Array, off: number, n: number, h: number): void {
  const h2 = 2 * h;
  const h3 = 3 * h;
  const step = 4 * h;
  const end = off + n;
  for (let base = off; base < end; base += step) {
    const stop = base + h;
    for (let i = base; i < stop; i++) {
      const a = d[i]!;
      const b = d[i + h]!;
      const c = d[i + h2]!;
      const e = d[i + h3]!;
      const t0 = a + b;
      const t1 = a - b;
      const t2 = c + e;
      const t3 = c - e;
      d[i] = t0 + t2;
      d[i + h] = t1 + t3;
      d[i + h2] = t0 - t2;
      d[i + h3] = t1 - t3;
    }
  }
}

/** Stages at distances h, 2h and 4h. */
function radix8Pass(d: Float32Array, off: number, n: number, h: number): void {
  const step = 8 * h;
  const end = off + n;
  for (let base = off; base < end; base += step) {
    const stop = base + h;
    for (let i = base; i < stop; i++) {
      const x0 = d[i]!;
      const x1 = d[i + h]!;
      const x2 = d[i + 2 * h]!;
      const x3 = d[i + 3 * h]!;
      const x4 = d[i + 4 * h]!;
      const x5 = d[i + 5 * h]!;
      const x6 = d[i + 6 * h]!;
      const x7 = d[i + 7 * h]!;
      const a0 = x0 + x1;
      const a1 = x0 - x1;
      const a2 = x2 + x3;
      const a3 = x2 - x3;
      const a4 = x4 + x5;
      const a5 = x4 - x5;
      const a6 = x6 + x7;
      const a7 = x6 - x7;
      const b0 = a0 + a2;
      const b1 = a1 + a3;
      const b2 = a0 - a2;
      const b3 = a1 - a3;
      const b4 = a4 + a6;
      const b5 = a5 + a7;
      const b6 = a4 - a6;
      const b7 = a5 - a7;
      d[i] = b0 + b4;
      d[i + h] = b1 + b5;
      d[i + 2 * h] = b2 + b6;
      d[i + 3 * h] = b3 + b7;
      d[i + 4 * h] = b0 - b4;
      d[i + 5 * h] = b1 - b5;
      d[i + 6 * h] = b2 - b6;
      d[i + 7 * h] = b3 - b7;
    }
  }
}

function radix2Pass(d: Float32Array, off: number, n: number, h: number): void {
  const step = 2 * h;
  const end = off + n;
  for (let base = off; base < end; base += step) {
    const stop = base + h;
    for (let i = base; i < stop; i++) {
      const a = d[i]!;
      const b = d[i + h]!;
      d[i] = a + b;
      d[i + h] = a - b;
    }
  }
}
