/*
 * Symmetric per-row (per-token) INT-b fake quantization, in place, returning the error sums — the
 * inner loop of every cost evaluation. Same definition as @nq/quant-int4's fakeQuantInt with
 * { format: 'int', bits, granularity: 'token', symmetric: true } (tested bit for bit against it):
 *   s = fround(max|row| / (2^(b−1) − 1)),  q = clamp(rne(x/s), −2^(b−1), 2^(b−1) − 1),  x̂ = fround(q·s)
 * An all-zero row stays zero (s = 0).
 */

const MAGIC = 6755399441055744; // 1.5·2^52: (t + MAGIC) − MAGIC rounds t half-to-even for |t| < 2^51
const LIMIT = 2251799813685248;

/** Error sums of an approximation: Σ(x̂ − x)² and Σx², in float64. */
export interface ErrorSums {
  sse: number;
  signal: number;
}

/**
 * Quantizes rows [0, rows) of `data` (rows × cols) in place and returns Σ(x̂ − x)² and Σx² over them.
 * No allocation.
 */
export function fakeQuantRowsSym(data: Float32Array, rows: number, cols: number, bits: number): ErrorSums {
  const qmax = (1 << (bits - 1)) - 1;
  const qmin = -(1 << (bits - 1));
  let sse = 0;
  let signal = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let m = 0;
    for (let j = 0; j < cols; j++) {
      const a = Math.abs(data[o + j]!);
      if (a > m) m = a;
    }
    const s = Math.fround(m / qmax);
    if (s === 0) continue; // all-zero row: exact
    for (let j = 0; j < cols; j++) {
      const v = data[o + j]!;
      const t = v / s;
      let q = t < LIMIT && t > -LIMIT ? t + MAGIC - MAGIC : Math.round(t);
      if (q > qmax) q = qmax;
      else if (q < qmin) q = qmin;
      const xh = Math.fround(q * s);
      const d = xh - v;
      sse += d * d;
      signal += v * v;
      data[o + j] = xh;
    }
  }
  return { sse, signal };
}

/** Σ(a − b)² and Σb² over n elements (b the reference). */
export function errorSums(approx: Float32Array, ref: Float32Array, n: number): ErrorSums {
  let sse = 0;
  let signal = 0;
  for (let i = 0; i < n; i++) {
    const r = ref[i]!;
    const d = approx[i]! - r;
    sse += d * d;
    signal += r * r;
  }
  return { sse, signal };
}
