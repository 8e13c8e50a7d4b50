import { NqInputError } from '@nq/core';
import { blockHadamard, toDense } from '@nq/hadamard';
import { solveInPlace } from './cpu/dense64.js';

/**
 * A block-diagonal orthogonal matrix: n/b blocks Θ_k of b × b (float64, row-major, block k at
 * offset k·b²). Rows rotate as x ↦ x·Θ, block k acting on channels [k·b, (k+1)·b).
 */
export interface BlockOrthogonal {
  n: number;
  block: number;
  blocks: Float64Array;
}

/** Block-diagonal random Hadamard: the b × b diagonal blocks of D·blockdiag(H_b)/√b (seeded signs D). */
export function blockRandomHadamard(n: number, block: number, seed: number): BlockOrthogonal {
  if (!Number.isInteger(block) || block < 1 || n % block !== 0)
    throw new NqInputError(
      'block',
      `is ${block}; it must divide n = ${n}`,
      'Use a block size that divides the dimension, e.g. 64.',
    );
  // toDense is float32; every entry is ±1/√b, so rebuild the exact float64 value from its sign.
  const dense = toDense(blockHadamard(n, block, seed)).data;
  const b = fromDenseBlocks(dense, n, block);
  const mag = 1 / Math.sqrt(block);
  for (let i = 0; i < b.blocks.length; i++) b.blocks[i] = Math.sign(b.blocks[i]!) * mag;
  return b;
}

/** The diagonal blocks of a dense n × n matrix. */
export function fromDenseBlocks(dense: ArrayLike<number>, n: number, block: number): BlockOrthogonal {
  const nb = n / block;
  const blocks = new Float64Array(nb * block * block);
  for (let k = 0; k < nb; k++) {
    for (let i = 0; i < block; i++)
      for (let j = 0; j < block; j++)
        blocks[k * block * block + i * block + j] = dense[(k * block + i) * n + k * block + j]!;
  }
  return { n, block, blocks };
}

/** Dense n × n form (float64) of a block-diagonal matrix. */
export function blockToDense(b: BlockOrthogonal): Float64Array {
  const { n, block } = b;
  const out = new Float64Array(n * n);
  for (let k = 0; k < n / block; k++) {
    for (let i = 0; i < block; i++)
      for (let j = 0; j < block; j++)
        out[(k * block + i) * n + k * block + j] = b.blocks[k * block * block + i * block + j]!;
  }
  return out;
}

/** Θᵀ blockwise (the inverse of a block-orthogonal matrix). */
export function blockTranspose(b: BlockOrthogonal): BlockOrthogonal {
  const { n, block } = b;
  const bb = block * block;
  const t = new Float64Array(b.blocks.length);
  for (let k = 0; k < n / block; k++)
    for (let i = 0; i < block; i++)
      for (let j = 0; j < block; j++) t[k * bb + j * block + i] = b.blocks[k * bb + i * block + j]!;
  return { n, block, blocks: t };
}

/** max over blocks of max |ΘᵀΘ − I|. */
export function blockOrthogonalityError(b: BlockOrthogonal): number {
  const { block } = b;
  const bb = block * block;
  let worst = 0;
  for (let k = 0; k < b.blocks.length / bb; k++) {
    const o = k * bb;
    for (let i = 0; i < block; i++) {
      for (let j = i; j < block; j++) {
        let s = 0;
        for (let r = 0; r < block; r++) s += b.blocks[o + r * block + i]! * b.blocks[o + r * block + j]!;
        worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
      }
    }
  }
  return worst;
}

/**
 * The skew-symmetric A = G·Θᵀ − Θ·Gᵀ of one b × b block (Wen & Yin 2013): −A·Θ is the Riemannian
 * (canonical-metric) gradient direction of f at Θ on the orthogonal group, G = ∂f/∂Θ.
 */
export function cayleySkew(
  theta: Float64Array,
  off: number,
  grad: Float64Array,
  goff: number,
  b: number,
  out = new Float64Array(b * b),
): Float64Array {
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < b; j++) {
      let s = 0;
      for (let k = 0; k < b; k++)
        s +=
          grad[goff + i * b + k]! * theta[off + j * b + k]! -
          theta[off + i * b + k]! * grad[goff + j * b + k]!;
      out[i * b + j] = s;
    }
  }
  return out;
}

/**
 * One Cayley-transform step Θ ← (I + τ/2·A)⁻¹(I − τ/2·A)·Θ in place for the b × b block at `off`.
 * For skew A the Cayley factor is exactly orthogonal, so Θ stays on the manifold up to rounding
 * (no re-orthogonalisation needed); for small τ it moves along −A·Θ, a descent direction.
 */
export function cayleyStepInPlace(
  theta: Float64Array,
  off: number,
  a: Float64Array,
  b: number,
  tau: number,
): void {
  const h = tau / 2;
  const lhs = new Float64Array(b * b);
  const rhs = new Float64Array(b * b);
  // rhs = (I − hA)·Θ, lhs = I + hA
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < b; j++) {
      lhs[i * b + j] = (i === j ? 1 : 0) + h * a[i * b + j]!;
      let s = theta[off + i * b + j]!;
      for (let k = 0; k < b; k++) s -= h * a[i * b + k]! * theta[off + k * b + j]!;
      rhs[i * b + j] = s;
    }
  }
  solveInPlace(lhs, rhs, b, b);
  theta.set(rhs, off);
}
