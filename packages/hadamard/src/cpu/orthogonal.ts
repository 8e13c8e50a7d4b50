/**
 * One `orthogonal` block: d[off, off+b) ← x·Q (forward) or x·Qᵀ (inverse), Q = q[qOff..] row-major
 * b×b. Accumulates in the float64 `scratch` (length ≥ b, allocated once per call by the caller).
 */
export function applyOrthogonalBlock(
  d: Float32Array,
  off: number,
  b: number,
  q: Float32Array,
  qOff: number,
  inverse: boolean,
  scratch: Float64Array,
): void {
  if (inverse) {
    // y[c] = Σ_r x[r]·Q[c][r]: a dot product with row c of Q.
    for (let c = 0; c < b; c++) {
      const row = qOff + c * b;
      let s = 0;
      for (let r = 0; r < b; r++) s += d[off + r]! * q[row + r]!;
      scratch[c] = s;
    }
  } else {
    // y = Σ_r x[r]·Q[r][:]: axpy with row r of Q.
    scratch.fill(0, 0, b);
    for (let r = 0; r < b; r++) {
      const xr = d[off + r]!;
      if (xr === 0) continue;
      const row = qOff + r * b;
      for (let c = 0; c < b; c++) scratch[c] = scratch[c]! + xr * q[row + c]!;
    }
  }
  for (let c = 0; c < b; c++) d[off + c] = scratch[c]!;
}
