import { type Matrix, matrix, Rng } from '@nq/core';

/** LLM-like test input: normal values with a few large outlier channels. */
export function llmLike(rows: number, cols: number, seed: number): Matrix {
  const rng = new Rng(seed);
  const d = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) d[i * cols + j] = rng.normal() * (j % 61 === 7 ? 25 : 1);
  return matrix(rows, cols, d);
}

/**
 * Backend vs CPU fake-quant, with the tolerance the GPU's float32 arithmetic allows: the CPU divides
 * in float64, the GPU in float32 (and WGSL division is only accurate to 2.5 ulp), so an element
 * whose x/s lies within a few ulp of a rounding boundary may land one step away. Every element must
 * be within 1e-5 of a step of the CPU value, or exactly one step away; at most `maxOffFrac` of them
 * may be one step away.
 */
export function compareFakeQuant(
  gpu: ArrayLike<number>,
  cpu: ArrayLike<number>,
  stepOf: (f: number) => number,
  maxOffFrac = 0.002,
): { off: number; worst: number } {
  let off = 0;
  let worst = 0;
  for (let f = 0; f < cpu.length; f++) {
    const step = stepOf(f);
    const d = Math.abs(gpu[f]! - cpu[f]!);
    const r = step > 0 ? d / step : d;
    if (r > 1e-5) {
      off++;
      if (Math.abs(r - 1) > 1e-4)
        throw new Error(`element ${f}: gpu ${gpu[f]} cpu ${cpu[f]} differ by ${r} steps`);
    }
    worst = Math.max(worst, r);
  }
  if (off > maxOffFrac * cpu.length)
    throw new Error(`${off} of ${cpu.length} elements one step away (allowed ${maxOffFrac})`);
  return { off, worst };
}
