import { NqInputError } from '@nq/core';
import type { W4A4Format } from './quantizers.js';

/**
 * A smooth surrogate of the *expected* fake-quantization error, the descent signal AdaCodec's
 * encoder is trained on (see README "Why plain STE barely trains").
 *
 * For a quantizer whose scale is set by the absolute maximum of a group of g elements
 * (INT4 per token: the whole row, s = max|z|/7; NVFP4: blocks of 16, s ≈ max|z|/6), rounding
 * errors are roughly uniform on a grid of step ∝ s, so E‖Q(z) − z‖² over the group is ≈ c·g·max|z|².
 * The rounding residual itself has zero mean and is uncorrelated with the input: its STE
 * gradient is noise; the part of the error that a rotation can change is the group maximum.
 * We replace the max by the smooth p-norm Mₚ(z) = (Σ|zⱼ|ᵖ)^(1/p) ≥ max|z| and minimise
 *   S(Z) = Σₜ wₜ Σ_groups g·Mₚ(z_group)² / Σₜ wₜ‖xₜ‖²
 * whose gradient is ∂S/∂zⱼ = 2·wₜ·g·Mₚ^(2−p)·|zⱼ|^(p−1)·sign(zⱼ) / den. (The constant c is dropped:
 * Cayley steps are normalised by the gradient's norm.)
 */
export interface ExpectedErrorSurrogate {
  /** Elements sharing one scale: 0 = the whole row (per-token INT4), 16 = NVFP4 blocks. */
  group: number;
  /** Exponent of the smooth maximum (larger: closer to the max, spikier gradient). */
  p: number;
}

export function surrogateFor(format: W4A4Format, p = 12): ExpectedErrorSurrogate {
  return { group: format === 'int4' ? 0 : 16, p };
}

export function checkSurrogate(s: ExpectedErrorSurrogate, n: number): void {
  const g = s.group === 0 ? n : s.group;
  if (!Number.isInteger(g) || g < 1 || n % g !== 0)
    throw new NqInputError(
      'surrogate.group',
      `is ${s.group}; it must be 0 (whole row) or divide n = ${n}`,
      'Use surrogateFor(format).',
    );
  if (!(s.p >= 2) || !Number.isFinite(s.p))
    throw new NqInputError('surrogate.p', `is ${s.p}`, 'Use an exponent ≥ 2, e.g. 12.');
}

/**
 * S(Z) and, when `grad` is given, ∂S/∂Z into it (rows × n, float32). `den` = Σ wₜ‖xₜ‖².
 * Work is per group in float64; |z|^p is computed relative to the group's max (no overflow).
 */
export function expectedErrorSurrogate(
  z: Float32Array,
  rows: number,
  n: number,
  s: ExpectedErrorSurrogate,
  w: ArrayLike<number> | null,
  den: number,
  grad: Float32Array | null,
): number {
  const g = s.group === 0 ? n : s.group;
  const p = s.p;
  let total = 0;
  for (let t = 0; t < rows; t++) {
    const wt = w ? w[t]! : 1;
    for (let c0 = t * n; c0 < (t + 1) * n; c0 += g) {
      let amax = 0;
      for (let j = 0; j < g; j++) amax = Math.max(amax, Math.abs(z[c0 + j]!));
      if (amax === 0 || wt === 0) {
        if (grad) grad.fill(0, c0, c0 + g);
        continue;
      }
      let sum = 0; // Σ (|z|/amax)^p ∈ [1, g]
      for (let j = 0; j < g; j++) sum += (Math.abs(z[c0 + j]!) / amax) ** p;
      const m = amax * sum ** (1 / p); // Mₚ
      total += wt * g * m * m;
      if (grad) {
        // 2·g·M^(2−p)·|z|^(p−1) = 2·g·M·(|z|/amax)^(p−1)·(amax/M)^(p−1)… written with r = amax/M ≤ 1.
        const r = amax / m;
        const k = (2 * wt * g * m * r ** (p - 1)) / den;
        for (let j = 0; j < g; j++) {
          const v = z[c0 + j]!;
          grad[c0 + j] = k * Math.sign(v) * (Math.abs(v) / amax) ** (p - 1);
        }
      }
    }
  }
  return total / den;
}
