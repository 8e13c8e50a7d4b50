// gpu.js kernel for the Hessian (gpu.js's restricted JS subset: no closures, flat arrays).
/* eslint-disable */
// biome-ignore-all lint: kernel bodies are gpu.js source, written in its restricted JS subset

/** Output n·n: element i·n + j = Σ_t x[t·n + i]·x[t·n + j] over the T rows of a batch. */
export function xtxKernel(this: any, x: number[], n: number, T: number): number {
  const i = Math.floor(this.thread.x / n);
  const j = this.thread.x - i * n;
  let s = 0.0;
  for (let t = 0; t < T; t++) {
    s += x[t * n + i] * x[t * n + j];
  }
  return s;
}
