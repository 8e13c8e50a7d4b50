import { type Matrix, zeros } from '@nq/core';
import { blockFactors, hadamardMatrix } from './construct/orders.js';
import { sylvesterEntry } from './construct/sylvester.js';
import { type RotationSpec, type RotationStage, validateRotationSpec } from './spec.js';

/**
 * Dense dim × dim matrix of a spec, from the definitions (entry formulas, float64 products) — not from
 * the fast kernels, so tests can compare the two. Cost: dim² per stage entry fill + dim²·block per
 * extra stage. For tests and small sizes.
 */
export function toDense(spec: RotationSpec): Matrix {
  validateRotationSpec(spec);
  const n = spec.dim;
  let acc: Float64Array | null = null;
  for (const st of spec.stages) {
    const s = stageDense(st, n);
    acc = acc ? multiplyBlockDiag(acc, s, n, st.block) : s;
  }
  const out = zeros(n, n);
  out.data.set(acc!);
  return out;
}

/** One stage as a dense float64 matrix. */
function stageDense(st: RotationStage, n: number): Float64Array {
  const b = st.block;
  const out = new Float64Array(n * n);
  if (st.kind === 'hadamard') {
    const { m, p } = blockFactors(b)!;
    const hm = m > 1 ? hadamardMatrix(m) : null;
    const scale = 1 / Math.sqrt(b);
    for (let blk = 0; blk < n / b; blk++)
      for (let i = 0; i < b; i++) {
        const row = blk * b + i;
        const s = st.signs ? st.signs[row]! : 1;
        for (let j = 0; j < b; j++) {
          // (H_m ⊗ H_p)[i][j] = H_m[i / p][j / p] · H_p[i mod p][j mod p]
          const hmij = hm ? hm[Math.floor(i / p) * m + Math.floor(j / p)]! : 1;
          out[row * n + blk * b + j] = s * hmij * sylvesterEntry(i % p, j % p) * scale;
        }
      }
  } else {
    for (let blk = 0; blk < n / b; blk++)
      for (let i = 0; i < b; i++)
        for (let j = 0; j < b; j++)
          out[(blk * b + i) * n + blk * b + j] = st.matrices[blk * b * b + i * b + j]!;
  }
  return out;
}

/** acc · S where S is block-diagonal with blocks of size b (only the diagonal blocks are read). */
function multiplyBlockDiag(acc: Float64Array, s: Float64Array, n: number, b: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let blk = 0; blk < n / b; blk++) {
      const o = blk * b;
      for (let k = 0; k < b; k++) {
        const a = acc[i * n + o + k]!;
        if (a === 0) continue;
        const srow = (o + k) * n + o;
        for (let j = 0; j < b; j++) out[i * n + o + j]! += a * s[srow + j]!;
      }
    }
  return out;
}
