// gpu.js kernels for INT fake-quant (correctness first). gpu.js translates these JS functions to its
// targets (WebGPU, WebAssembly, WebGL, plain JS); they may only use its JS subset, so helpers are
// inlined. Math.round in gpu.js keeps JS semantics (halves toward +∞) in every mode, so ties are
// moved to the even neighbour by hand, exactly as round.ts does on the CPU.
/* eslint-disable */
// biome-ignore-all lint: kernel bodies are gpu.js source, written in its restricted JS subset

/**
 * Output 2·units: [scale0, zero0, scale1, zero1, …]. `channel` > 0.5 means unit u is column u
 * (stride cols over rows); otherwise unit u is the contiguous span [u·span, (u+1)·span).
 */
export function intParamsKernel(
  this: any,
  x: number[],
  span: number,
  cols: number,
  rows: number,
  channel: number,
  bits: number,
  sym: number,
  clip: number,
): number {
  const u = Math.floor(this.thread.x / 2);
  const which = this.thread.x - u * 2;
  let lo = 3.0e38;
  let hi = -3.0e38;
  if (channel > 0.5) {
    for (let i = 0; i < rows; i++) {
      const v = x[i * cols + u];
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  } else {
    for (let t = 0; t < span; t++) {
      const v = x[u * span + t];
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  let s = 0.0;
  let z = 0.0;
  if (sym > 0.5) {
    s = (clip * Math.max(Math.abs(lo), Math.abs(hi))) / (Math.pow(2, bits - 1) - 1);
  } else if (lo === hi) {
    s = Math.abs(lo);
    if (lo < 0) z = 1.0;
  } else {
    s = (clip * hi - clip * lo) / (Math.pow(2, bits) - 1);
    if (s > 0) {
      const q = (-clip * lo) / s;
      let r = Math.round(q);
      if (r - q === 0.5 && Math.abs(r - 2 * Math.floor(r / 2)) > 0.5) r = r - 1;
      z = r;
    }
  }
  if (which === 0) return s;
  return z;
}

/** Output n: x̂ of element f from its unit's (scale, zero) in `params`. */
export function intApplyKernel(
  this: any,
  x: number[],
  params: number[],
  span: number,
  cols: number,
  channel: number,
  qmin: number,
  qmax: number,
): number {
  const f = this.thread.x;
  let u = 0;
  if (channel > 0.5) u = f - Math.floor(f / cols) * cols;
  else u = Math.floor(f / span);
  const s = params[u * 2];
  const z = params[u * 2 + 1];
  if (s === 0) return 0.0;
  const v = x[f] / s;
  let r = Math.round(v);
  if (r - v === 0.5 && Math.abs(r - 2 * Math.floor(r / 2)) > 0.5) r = r - 1;
  const q = Math.min(Math.max(r + z, qmin), qmax);
  return (q - z) * s;
}
