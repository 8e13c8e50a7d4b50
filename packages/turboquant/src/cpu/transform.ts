import { Rng } from '@nq/core';
import { fwht } from '@nq/hadamard/cpu';

/*
 * The random orthogonal map of one group: y = (u ⊙ σ)·H/√g (σ ∈ {±1}^g, H the Sylvester Hadamard
 * matrix, H·H = g·I), and its inverse u = (y·H/√g) ⊙ σ. Both act in place on d[off, off+g).
 */

/** The tensor's sign vector σ (length g) from Rng(seed).fork(label): same seed + label → same signs. */
export function groupSigns(seed: number, label: string, g: number): Float32Array {
  return new Rng(seed).fork(`turboquant:${label}`).signs(g);
}

export function forwardGroup(d: Float32Array, off: number, g: number, signs: Float32Array): void {
  fwht(d, off, g, signs, 0, 1 / Math.sqrt(g), false);
}

export function inverseGroup(d: Float32Array, off: number, g: number, signs: Float32Array): void {
  fwht(d, off, g, signs, 0, 1 / Math.sqrt(g), true);
}

/** Float64 FWHT of d[off, off+n) (unnormalized): for the Hessian, where float32 would cost accuracy. */
export function fwht64(d: Float64Array, off: number, n: number): void {
  for (let h = 1; h < n; h *= 2) {
    for (let i = 0; i < n; i += 2 * h) {
      for (let j = off + i; j < off + i + h; j++) {
        const a = d[j]!;
        const b = d[j + h]!;
        d[j] = a + b;
        d[j + h] = a - b;
      }
    }
  }
}
