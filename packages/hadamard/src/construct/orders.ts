import { NqUnsupportedError } from '@nq/core';
import { primePower } from './galois.js';
import { paleyI, paleyII } from './paley.js';
import { kronecker, sylvester } from './sylvester.js';
import { cooperWallis3, searchWilliamson, williamsonArray } from './williamson.js';

/**
 * Which Hadamard orders nq can build, and how. An order m is *constructible* when one of these gives
 * it (tried in this order):
 *   sylvester      m = 2^k
 *   paley-I        m = q + 1, q ≡ 3 (mod 4) a prime power   (12, 20, 28, 60, 108, 140, …)
 *   paley-II       m = 2(q + 1), q ≡ 1 (mod 4) a prime power (36, 52, …)
 *   williamson     m = 172 (order-43 Williamson matrices from a cyclotomic orbit search)
 *   cooper-wallis  m = 156 (T-matrices of order 3 ⊗ Williamson matrices of order 13)
 *   kronecker      m = a · b with a and b constructible (e.g. 40 = 2 · 20)
 * A transform block of size b uses H_b = H_m ⊗ H_{b/m}, where m is the *base order* of b: the
 * smallest constructible m = o·2^j (o the odd part of b, j ≥ 0) — e.g. 768 → 12 ⊗ 64,
 * 11008 → 172 ⊗ 64, 28672 → 28 ⊗ 1024, 40 → 20 ⊗ 2.
 */
export type Construction =
  | 'sylvester'
  | 'paley-I'
  | 'paley-II'
  | 'williamson'
  | 'cooper-wallis'
  | 'kronecker';

/** The small orders real models need (LLaMA/Qwen/Mistral widths ÷ powers of two), all constructible. */
export const MODEL_HADAMARD_ORDERS = [12, 20, 28, 36, 40, 52, 60, 108, 140, 156, 172] as const;

/** Largest base order m we build (an m×m ±1 matrix; the Kronecker path costs m operations per element). */
export const MAX_BASE_ORDER = 512;

const isPow2 = (n: number): boolean => Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;

function directConstruction(m: number): Construction | null {
  if (isPow2(m)) return 'sylvester';
  if (m % 4 !== 0) return null;
  const q1 = primePower(m - 1);
  if (q1 && (m - 1) % 4 === 3) return 'paley-I';
  if (primePower(m / 2 - 1) && (m / 2 - 1) % 4 === 1) return 'paley-II';
  if (m === 172) return 'williamson';
  if (m === 156) return 'cooper-wallis';
  return null;
}

const constructionCache = new Map<number, { how: Construction; factors?: [number, number] } | null>();

/** How order m is built, or null if nq cannot build it (m ≤ MAX_BASE_ORDER). */
export function hadamardConstruction(m: number): { how: Construction; factors?: [number, number] } | null {
  if (!Number.isInteger(m) || m < 1 || m > MAX_BASE_ORDER) return null;
  const hit = constructionCache.get(m);
  if (hit !== undefined) return hit;
  let result: { how: Construction; factors?: [number, number] } | null = null;
  const direct = directConstruction(m);
  if (direct) result = { how: direct };
  else {
    for (let a = 2; a * a <= m && !result; a++) {
      if (m % a !== 0) continue;
      const b = m / a;
      if (hadamardConstruction(a) && hadamardConstruction(b)) result = { how: 'kronecker', factors: [a, b] };
    }
  }
  constructionCache.set(m, result);
  return result;
}

const matrixCache = new Map<number, Int8Array>();

/**
 * The unnormalized ±1 Hadamard matrix of order m (row-major, m·m entries), H·Hᵀ = m·I. Built once per
 * order and cached; do not modify the returned array. Throws NqUnsupportedError for orders nq cannot build.
 */
export function hadamardMatrix(m: number): Int8Array {
  const cached = matrixCache.get(m);
  if (cached) return cached;
  const c = hadamardConstruction(m);
  if (!c) {
    throw new NqUnsupportedError(
      `A Hadamard matrix of order ${m}`,
      `Constructible orders near ${m}: ${nearestConstructible(m).join(', ')} (powers of two, Paley I/II orders, 156, 172 and Kronecker products of these, up to ${MAX_BASE_ORDER}).`,
    );
  }
  let h: Int8Array;
  switch (c.how) {
    case 'sylvester':
      h = sylvester(m);
      break;
    case 'paley-I':
      h = paleyI(m - 1);
      break;
    case 'paley-II':
      h = paleyII(m / 2 - 1);
      break;
    case 'williamson': {
      const q = searchWilliamson(m / 4);
      if (!q) throw new Error(`Williamson search for order ${m / 4} failed (unreachable: it is tested)`);
      h = williamsonArray(q);
      break;
    }
    case 'cooper-wallis': {
      const q = searchWilliamson(m / 12);
      if (!q) throw new Error(`Williamson search for order ${m / 12} failed (unreachable: it is tested)`);
      h = cooperWallis3(q);
      break;
    }
    case 'kronecker': {
      const [a, b] = c.factors!;
      h = kronecker(hadamardMatrix(a), a, hadamardMatrix(b), b);
      break;
    }
  }
  matrixCache.set(m, h);
  return h;
}

function nearestConstructible(m: number): number[] {
  const below: number[] = [];
  const above: number[] = [];
  for (let d = 1; d <= MAX_BASE_ORDER && (below.length < 2 || above.length < 2); d++) {
    if (below.length < 2 && m - d >= 1 && hadamardConstruction(m - d)) below.push(m - d);
    if (above.length < 2 && m + d <= MAX_BASE_ORDER && hadamardConstruction(m + d)) above.push(m + d);
  }
  return [...below.reverse(), ...above];
}

/** Odd part o and power-of-two exponent e of n = o·2^e. */
function splitOdd(n: number): { odd: number; pow2: number } {
  let pow2 = 1;
  while (n % (pow2 * 2) === 0) pow2 *= 2;
  return { odd: n / pow2, pow2 };
}

/**
 * How a transform block of size b factors: b = m · p with p a power of two and m the base order
 * (1 for a power of two). Null if no constructible base order divides b that way.
 */
export function blockFactors(b: number): { m: number; p: number } | null {
  if (!Number.isInteger(b) || b < 1) return null;
  const { odd, pow2 } = splitOdd(b);
  if (odd === 1) return { m: 1, p: b };
  for (let j = 0; odd << j <= Math.min(b, MAX_BASE_ORDER) && 1 << j <= pow2; j++) {
    const m = odd << j;
    if (hadamardConstruction(m)) return { m, p: b / m };
  }
  return null;
}

/** True when a block / dimension of size n can be transformed (power of two or base order · 2^k). */
export function isSupportedSize(n: number): boolean {
  return blockFactors(n) !== null;
}

/** Up to `count` supported sizes on each side of n, nearest first on each side (for error messages). */
export function nearestSupportedSizes(n: number, count = 2): number[] {
  const below: number[] = [];
  const above: number[] = [];
  const limit = Math.max(64, Math.ceil(n * 0.5));
  for (let d = 1; d <= limit && (below.length < count || above.length < count); d++) {
    if (below.length < count && n - d >= 1 && isSupportedSize(n - d)) below.push(n - d);
    if (above.length < count && isSupportedSize(n + d)) above.push(n + d);
  }
  return [...below.reverse(), ...above];
}

/** Throws NqUnsupportedError (naming the argument and the nearest supported sizes) unless n is supported. */
export function assertSupportedSize(n: number, argument: string): { m: number; p: number } {
  const f = blockFactors(n);
  if (!f) {
    throw new NqUnsupportedError(
      `${argument} = ${n} (a Hadamard transform of size ${n})`,
      `Nearest supported sizes: ${nearestSupportedSizes(n).join(', ')}. Supported: powers of two and m·2^k with m a constructible Hadamard order (${MODEL_HADAMARD_ORDERS.join(', ')}, …).`,
    );
  }
  return f;
}
