import { NqUnsupportedError, type Rng } from '@nq/core';

/*
 * Dense orthogonal rotations for the rotated recipes. Sizes here are small (≤ a few thousand), so a
 * rotation is kept as a dense n × n matrix and applied as a GEMM; what matters for the recipes is
 * which orthogonal matrix is used, not how fast it is applied.
 */

/** A dense orthogonal matrix R (row-major n × n) and its transpose, for x·R = GEMM(x, Rᵀ). */
export interface DenseRotation {
  n: number;
  /** Rᵀ row-major, i.e. column j of R is row j of `rT`. */
  rT: Float32Array;
  label: string;
}

/** ±1 Hadamard matrix of order n (row-major, float64): Sylvester 2^k, or 12·2^k / 20·2^k via Paley I. */
export function hadamardMatrix(n: number): Float64Array {
  let m = n;
  while (m % 2 === 0 && m > 1) m /= 2;
  let base: Float64Array;
  let bn: number;
  if (m === 1) {
    base = Float64Array.of(1);
    bn = 1;
  } else if (m === 3 || m === 5) {
    // 12 = 4·3 and 20 = 4·5: the Paley orders need the factor 4 out of the power of two.
    bn = 4 * m;
    if (n % bn !== 0) throw unsupported(n);
    base = paley(bn - 1);
  } else {
    throw unsupported(n);
  }
  let h = base;
  let size = bn;
  while (size < n) {
    // Sylvester doubling: [[H, H], [H, −H]].
    const s2 = 2 * size;
    const next = new Float64Array(s2 * s2);
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) {
        const v = h[i * size + j]!;
        next[i * s2 + j] = v;
        next[i * s2 + j + size] = v;
        next[(i + size) * s2 + j] = v;
        next[(i + size) * s2 + j + size] = -v;
      }
    }
    h = next;
    size = s2;
  }
  return h;
}

function unsupported(n: number): Error {
  return new NqUnsupportedError(
    `a Hadamard matrix of order ${n}`,
    'Supported orders: 2^k, 12·2^k and 20·2^k (k ≥ 0).',
  );
}

/** Paley construction I for a prime q ≡ 3 (mod 4): H = I + [[0, 1ᵀ], [−1, Q]], Q_ij = χ(j − i). */
function paley(q: number): Float64Array {
  const n = q + 1;
  const chi = new Int8Array(q);
  for (let x = 1; x < q; x++) chi[(x * x) % q] = 1;
  const c = (d: number) => (d === 0 ? 0 : chi[((d % q) + q) % q] === 1 ? 1 : -1);
  const h = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s: number;
      if (i === 0) s = j === 0 ? 0 : 1;
      else if (j === 0) s = -1;
      else s = c(j - i);
      h[i * n + j] = s + (i === j ? 1 : 0);
    }
  }
  // Construction check (cheap at n ≤ 20): H·Hᵀ = n·I.
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let d = 0;
      for (let k = 0; k < n; k++) d += h[i * n + k]! * h[j * n + k]!;
      if (d !== (i === j ? n : 0)) throw new Error(`internal: Paley matrix of order ${n} is not Hadamard`);
    }
  }
  return h;
}

/**
 * Block-diagonal random Hadamard: R = diag(s)·blockdiag(H_b, …, H_b)/√b with s a random sign vector
 * (b = n gives the full random Hadamard). Orthogonal: R·Rᵀ = I.
 */
export function randomBlockHadamard(n: number, block: number, rng: Rng): DenseRotation {
  if (!Number.isInteger(block) || block < 1 || n % block !== 0) {
    throw new NqUnsupportedError(
      `a Hadamard block of ${block} on a size-${n} input`,
      `The block size must divide ${n}.`,
    );
  }
  const h = hadamardMatrix(block);
  const signs = rng.signs(n);
  const scale = 1 / Math.sqrt(block);
  const rT = new Float32Array(n * n);
  for (let b0 = 0; b0 < n; b0 += block) {
    for (let i = 0; i < block; i++) {
      for (let j = 0; j < block; j++) {
        // R[b0+i][b0+j] = s_{b0+i}·H[i][j]/√b, stored transposed.
        rT[(b0 + j) * n + b0 + i] = signs[b0 + i]! * h[i * block + j]! * scale;
      }
    }
  }
  return { n, rT, label: block === n ? `hadamard-${n}` : `bhad${block}-${n}` };
}

/** Haar-random orthogonal matrix: Gram–Schmidt (twice, float64) on a Gaussian matrix's columns. */
export function randomOrthogonal(n: number, rng: Rng): DenseRotation {
  // cols[j] = column j of R, contiguous.
  const cols = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) cols[i] = rng.normal();
  for (let j = 0; j < n; j++) {
    const cj = j * n;
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < j; p++) {
        const cp = p * n;
        let d = 0;
        for (let k = 0; k < n; k++) d += cols[cp + k]! * cols[cj + k]!;
        for (let k = 0; k < n; k++) cols[cj + k]! -= d * cols[cp + k]!;
      }
    }
    let norm = 0;
    for (let k = 0; k < n; k++) norm += cols[cj + k]! ** 2;
    norm = Math.sqrt(norm);
    for (let k = 0; k < n; k++) cols[cj + k]! /= norm;
  }
  // Rᵀ row j = column j of R: exactly `cols`.
  return { n, rT: Float32Array.from(cols), label: `orthogonal-${n}` };
}

/** The seed study's adaptive block: 512 when n is a multiple of 512 larger than 512, else n. */
export function adaptiveBlock(n: number): number {
  return n > 512 && n % 512 === 0 ? 512 : n;
}
