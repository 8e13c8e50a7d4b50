import { NqInputError } from './errors.js';

/**
 * The one source of randomness in nq.
 *
 * Algorithm: xoshiro128** (Blackman & Vigna) on four 32-bit words, seeded by running SplitMix32 over
 * the seed. Everything is 32-bit integer arithmetic (Math.imul, >>> 0), so a seed gives bit-identical
 * streams on every JavaScript engine, machine and backend.
 *
 *  - `nextU32()`   : the raw 32-bit output.
 *  - `uniform()`   : a double in [0, 1) from 53 bits (two outputs: high 27 bits, then 26 bits).
 *  - `normal()`    : N(0, 1) by the Marsaglia polar method (uses only sqrt, log and the uniform stream;
 *                    `Math.log` is correctly rounded on V8, so normals match across Node/Chrome).
 *  - `signs(n)`    : n values of ±1, one output bit per sign (bit 0 of successive outputs... see below).
 *  - `fork(label)` : an independent generator derived from this one's seed and a label, so that e.g.
 *                    the signs of layer 3 do not depend on how many numbers layer 2 drew.
 *
 * Seed: any integer in [0, 2^53). The high and low 32-bit halves are both mixed in.
 */
export class Rng {
  readonly seed: number;
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > Number.MAX_SAFE_INTEGER) {
      throw new NqInputError(
        'seed',
        `must be an integer in [0, 2^53), got ${seed}`,
        'Pass a non-negative integer seed.',
      );
    }
    this.seed = seed;
    let sm = (seed >>> 0) ^ Math.imul(Math.floor(seed / 0x100000000) >>> 0, 0x9e3779b9);
    const next = (): number => {
      // SplitMix32 (the 32-bit variant of SplitMix64's finalizer).
      sm = (sm + 0x9e3779b9) >>> 0;
      let z = sm;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // all-zero state is a fixed point
  }

  /** Next raw output, an unsigned 32-bit integer. */
  nextU32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n) without modulo bias (rejection sampling). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 0x100000000) {
      throw new NqInputError('n', `must be an integer in [1, 2^32], got ${n}`, 'Pass a positive bound.');
    }
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const v = this.nextU32();
      if (v < limit) return v % n;
    }
  }

  /** Standard normal sample (Marsaglia polar method; samples come in pairs, the spare is kept). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    for (;;) {
      const u = 2 * this.uniform() - 1;
      const v = 2 * this.uniform() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const f = Math.sqrt((-2 * Math.log(s)) / s);
        this.spareNormal = v * f;
        return u * f;
      }
    }
  }

  /** Fills (or creates) a Float32Array with N(mean, std²) samples. */
  normals(n: number, mean = 0, std = 1, out = new Float32Array(n)): Float32Array {
    for (let i = 0; i < n; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** Fills (or creates) a Float32Array with uniform samples in [lo, hi). */
  uniforms(n: number, lo = 0, hi = 1, out = new Float32Array(n)): Float32Array {
    for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * this.uniform();
    return out;
  }

  /**
   * n random signs (±1) as a Float32Array. Each 32-bit output supplies 32 signs, least significant
   * bit first; bit = 1 means −1.
   */
  signs(n: number): Float32Array {
    const out = new Float32Array(n);
    let word = 0;
    for (let i = 0; i < n; i++) {
      if ((i & 31) === 0) word = this.nextU32();
      out[i] = (word >>> (i & 31)) & 1 ? -1 : 1;
    }
    return out;
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T>(arr: T[] | Int32Array | Uint32Array | Float32Array): void {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = arr[i]!;
      arr[i] = arr[j]!;
      arr[j] = t as never;
    }
  }

  /**
   * An independent generator for a named sub-task. Derived from this generator's *seed* and the label
   * (FNV-1a hash), not from its current position, so forks are stable however much the parent drew.
   */
  fork(label: string): Rng {
    let h = 0x811c9dc5;
    for (let i = 0; i < label.length; i++) {
      h ^= label.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    // Mix the 53-bit seed with the label hash into a new 53-bit seed.
    const lo = ((this.seed >>> 0) ^ h) >>> 0;
    const hi = (Math.floor(this.seed / 0x100000000) ^ Math.imul(h, 0x9e3779b9)) & 0x1fffff;
    return new Rng(hi * 0x100000000 + lo);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Convenience: `new Rng(seed)`. */
export function rng(seed: number): Rng {
  return new Rng(seed);
}
