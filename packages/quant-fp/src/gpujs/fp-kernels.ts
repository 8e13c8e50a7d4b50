// gpu.js kernels for the FP formats (correctness first). `rmf` is registered with gpu.addFunction and
// rounds to a minifloat grid (mbits mantissa bits, smallest normal exponent emin, saturating at fmax)
// the same way formats/minifloat.ts does: scale the binade's spacing to 1, round half to even, scale back.
// Math.round keeps JS semantics (halves toward +∞) in gpu.js, so ties are moved to even by hand.
// biome-ignore-all lint: kernel bodies are gpu.js source, written in its restricted JS subset

export function rmf(v: number, mbits: number, emin: number, fmax: number): number {
  const a = Math.abs(v);
  if (a === 0) return 0.0;
  let e = Math.floor(Math.log2(a));
  if (Math.pow(2, e) > a) e = e - 1;
  if (Math.pow(2, e + 1) <= a) e = e + 1;
  const q = Math.pow(2, Math.max(e, emin) - mbits);
  const t = a / q;
  let r = Math.round(t);
  if (r - t === 0.5 && Math.abs(r - 2 * Math.floor(r / 2)) > 0.5) r = r - 1;
  const out = Math.min(r * q, fmax);
  if (v < 0) return -out;
  return out;
}

/** Output 1: max |x| over all n elements (NVFP4's global amax). */
export function amaxKernel(this: any, x: number[], n: number): number {
  let m = 0.0;
  for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

/**
 * Output units: the effective scale of each unit. kind 0 = FP8 (clip·amax/fmax), 1 = NVFP4
 * (e4m3(amax/6/g)·g with g = gamax/2688), 2 = MXFP4 (2^clamp(⌊log2 amax⌋ − 2, −127, 127), 0 for a zero block).
 */
export function fpParamsKernel(
  this: any,
  x: number[],
  span: number,
  cols: number,
  rows: number,
  channel: number,
  kind: number,
  fmax: number,
  clip: number,
  gamax: number,
): number {
  const u = this.thread.x;
  let amax = 0.0;
  if (channel > 0.5) {
    for (let i = 0; i < rows; i++) amax = Math.max(amax, Math.abs(x[i * cols + u]));
  } else {
    for (let t = 0; t < span; t++) amax = Math.max(amax, Math.abs(x[u * span + t]));
  }
  if (kind < 0.5) return (clip * amax) / fmax;
  if (kind < 1.5) {
    const g = gamax / 2688.0;
    if (g === 0) return 0.0;
    return rmf(amax / 6.0 / g, 3, -6, 448) * g;
  }
  if (amax === 0) return 0.0;
  let e = Math.floor(Math.log2(amax));
  if (Math.pow(2, e) > amax) e = e - 1;
  if (Math.pow(2, e + 1) <= amax) e = e + 1;
  return Math.pow(2, Math.min(Math.max(e - 2, -127), 127));
}

/** Output n: x̂ = rmf(x/s)·s with the unit's scale. */
export function fpApplyKernel(
  this: any,
  x: number[],
  scales: number[],
  span: number,
  cols: number,
  channel: number,
  mbits: number,
  emin: number,
  fmax: number,
): number {
  const f = this.thread.x;
  let u = 0;
  if (channel > 0.5) u = f - Math.floor(f / cols) * cols;
  else u = Math.floor(f / span);
  const s = scales[u];
  if (s === 0) return 0.0;
  return rmf(x[f] / s, mbits, emin, fmax) * s;
}
