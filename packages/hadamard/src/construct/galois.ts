/**
 * Finite fields GF(q), q = p^k, small enough for full addition/multiplication tables (q ≤ 1024).
 * Paley I/II need the quadratic character χ over GF(q): q = 27 (→ H_28) and q = 25 (→ H_52) are
 * prime powers, not primes, so integer arithmetic mod q is not enough.
 *
 * Elements are integers 0..q-1 read as base-p digit vectors = polynomials over GF(p) of degree < k;
 * multiplication is polynomial multiplication modulo a monic irreducible f of degree k. f is found
 * by search: the first monic polynomial for which the quotient ring has no zero divisors (that is
 * exactly irreducibility), so no table of polynomials is needed.
 */
export interface GaloisField {
  q: number;
  p: number;
  k: number;
  /** a − b. */
  sub(a: number, b: number): number;
  /** χ(a): 0 for a = 0, +1 for a non-zero square, −1 otherwise. */
  chi(a: number): number;
}

/** p and k if q = p^k with p prime (k ≥ 1), else null. */
export function primePower(q: number): { p: number; k: number } | null {
  if (!Number.isInteger(q) || q < 2) return null;
  let p = 2;
  while (p * p <= q && q % p !== 0) p++;
  if (q % p !== 0) p = q; // q itself is prime
  let k = 0;
  let r = q;
  while (r % p === 0) {
    r /= p;
    k++;
  }
  return r === 1 ? { p, k } : null;
}

const fieldCache = new Map<number, GaloisField>();

export function galoisField(q: number): GaloisField {
  const cached = fieldCache.get(q);
  if (cached) return cached;
  const pk = primePower(q);
  if (!pk || q > 1024) throw new RangeError(`GF(${q}): q must be a prime power ≤ 1024`);
  const { p, k } = pk;
  const digits = (a: number): number[] => {
    const d: number[] = [];
    for (let i = 0; i < k; i++) {
      d.push(a % p);
      a = Math.floor(a / p);
    }
    return d;
  };
  const fromDigits = (d: number[]): number => {
    let a = 0;
    for (let i = k - 1; i >= 0; i--) a = a * p + (d[i] ?? 0);
    return a;
  };
  const add = new Int32Array(q * q);
  const neg = new Int32Array(q);
  for (let a = 0; a < q; a++) {
    const da = digits(a);
    neg[a] = fromDigits(da.map((x) => (p - x) % p));
    for (let b = 0; b < q; b++) {
      const db = digits(b);
      add[a * q + b] = fromDigits(da.map((x, i) => (x + db[i]!) % p));
    }
  }
  // Multiply two digit vectors modulo the monic polynomial x^k − (tail), where f = x^k + Σ f_i x^i.
  const mulMod = (da: number[], db: number[], f: number[]): number => {
    const prod = new Array<number>(2 * k - 1).fill(0);
    for (let i = 0; i < k; i++)
      for (let j = 0; j < k; j++) prod[i + j] = (prod[i + j]! + da[i]! * db[j]!) % p;
    for (let deg = 2 * k - 2; deg >= k; deg--) {
      const c = prod[deg]!;
      if (c === 0) continue;
      prod[deg] = 0;
      // x^deg = x^(deg-k) · x^k ≡ x^(deg-k) · (−Σ f_i x^i)
      for (let i = 0; i < k; i++) prod[deg - k + i] = (prod[deg - k + i]! + (p - ((c * f[i]!) % p))) % p;
    }
    return fromDigits(prod.slice(0, k));
  };
  let mul: Int32Array | null = null;
  for (let fi = 0; fi < q && !mul; fi++) {
    const f = digits(fi); // low coefficients of the monic candidate x^k + Σ f_i x^i
    const table = new Int32Array(q * q);
    let ok = true;
    for (let a = 1; a < q && ok; a++) {
      const da = digits(a);
      for (let b = 1; b < q; b++) {
        const c = mulMod(da, digits(b), f);
        if (c === 0) {
          ok = false; // zero divisor: f is reducible
          break;
        }
        table[a * q + b] = c;
      }
    }
    if (ok) mul = table;
  }
  if (!mul) throw new Error(`GF(${q}): no irreducible polynomial found (unreachable for a prime power)`);
  const isSquare = new Uint8Array(q);
  for (let a = 1; a < q; a++) isSquare[mul[a * q + a]!] = 1;
  const field: GaloisField = {
    q,
    p,
    k,
    sub: (a, b) => add[a * q + neg[b]!]!,
    chi: (a) => (a === 0 ? 0 : isSquare[a] ? 1 : -1),
  };
  fieldCache.set(q, field);
  return field;
}
