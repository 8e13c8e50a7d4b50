// gpu.js kernel for the block GEMM (gpu.js's restricted JS subset: no closures, flat arrays).
/* eslint-disable */
// biome-ignore-all lint: kernel bodies are gpu.js source, written in its restricted JS subset

/**
 * Output rows·n (flat): element t·n + j = Σ_{i < b} x[t·n + c0 + i]·B_k[i][j − c0], k = ⌊j/b⌋,
 * c0 = k·b, with B stored as its n/b blocks of b × b (block k at k·b²); b = n is a dense X·R.
 */
export function blockGemmKernel(this: any, x: number[], bl: number[], n: number, block: number): number {
  const t = Math.floor(this.thread.x / n);
  const j = this.thread.x - t * n;
  const k = Math.floor(j / block);
  const c0 = k * block;
  const bo = k * block * block + (j - c0);
  let s = 0.0;
  for (let i = 0; i < block; i++) {
    s += x[t * n + c0 + i] * bl[bo + i * block];
  }
  return s;
}
