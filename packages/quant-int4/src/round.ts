/**
 * Round half to even ("banker's rounding"), the rounding every nq quantizer uses. `Math.round` is NOT
 * this: it rounds halves toward +∞ (Math.round(2.5) = 3, Math.round(-2.5) = -2).
 *
 * Why the test below is exact: r = Math.round(x) and x are within 0.5 of each other, so r − x is
 * computed without rounding error (Sterbenz for |x| ≥ 0.5, and r ∈ {0, ±1} otherwise); it equals 0.5
 * exactly when x is a half-integer that Math.round pushed up, and then we step back down to the even
 * neighbour if r is odd. Returns +0 for every zero result (no −0 codes).
 */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  if (r - x === 0.5 && (r & 1) !== 0) return r - 1;
  return r + 0; // −0 → +0
}
