// The 12-byte scale field shared by Q4_K and Q5_K: eight 6-bit sub-block scales and eight 6-bit
// mins. Bytes 0..3 hold scale j (low 6 bits) for j < 4, bytes 4..7 min j for j < 4; for j ≥ 4 the
// low nibbles of scale and min sit in byte j+4 and their top two bits in the spare bits 6..7 of
// bytes j−4 (scale) and j (min).

/** Scale (6 bits) of sub-block j from the 12 bytes at q[o..]. */
export function kScale(q: Uint8Array, o: number, j: number): number {
  return j < 4 ? q[o + j]! & 63 : (q[o + j + 4]! & 15) | ((q[o + j - 4]! >>> 6) << 4);
}

/** Min (6 bits) of sub-block j from the 12 bytes at q[o..]. */
export function kMin(q: Uint8Array, o: number, j: number): number {
  return j < 4 ? q[o + j + 4]! & 63 : (q[o + j + 4]! >>> 4) | ((q[o + j]! >>> 6) << 4);
}

/** Writes eight (scale, min) pairs, each 0..63, into the 12 bytes at q[o..]. */
export function packKScales(q: Uint8Array, o: number, scales: Uint8Array, mins: Uint8Array): void {
  q.fill(0, o, o + 12);
  for (let j = 0; j < 8; j++) {
    const ls = scales[j]!;
    const lm = mins[j]!;
    if (j < 4) {
      q[o + j] = ls;
      q[o + j + 4] = lm;
    } else {
      q[o + j + 4] = (ls & 15) | ((lm & 15) << 4);
      q[o + j - 4] |= (ls >>> 4) << 6;
      q[o + j] |= (lm >>> 4) << 6;
    }
  }
}
