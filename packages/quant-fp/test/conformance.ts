// Shared by the WebGPU and gpu.js conformance tests: the input and the agreement rule.
import { type Matrix, matrix, Rng } from '@nq/core';
import { expect } from 'vitest';

/** LLM-like test input: normal values with a few large (×30) outlier channels. */
export function llmLike(rows: number, cols: number, seed: number): Matrix {
  const rng = new Rng(seed);
  return matrix(
    rows,
    cols,
    Float32Array.from({ length: rows * cols }, (_, i) => rng.normal() * ((i % cols) % 53 === 3 ? 30 : 1)),
  );
}

/**
 * GPU (float32 arithmetic) vs CPU (float64 then rounded): elements near a rounding boundary (or a block
 * whose E4M3 scale lands on the other side of a midpoint) may differ; they must be rare and the
 * difference between the two outputs must be tiny next to the quantization error itself.
 */
export function conform(gpu: Float32Array, cpu: Float32Array, x: Float32Array, maxOffFrac = 0.003): void {
  let scale = 0;
  for (const v of x) scale = Math.max(scale, Math.abs(v));
  let off = 0;
  let dd = 0;
  let qe = 0;
  for (let i = 0; i < cpu.length; i++) {
    const d = Math.abs(gpu[i]! - cpu[i]!);
    if (d > 1e-6 * scale) off++;
    dd += d * d;
    qe += (cpu[i]! - x[i]!) ** 2;
  }
  expect(off, `${off} of ${cpu.length} elements differ`).toBeLessThanOrEqual(maxOffFrac * cpu.length);
  expect(dd).toBeLessThanOrEqual(0.01 * qe);
}
