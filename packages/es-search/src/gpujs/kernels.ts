// gpu.js kernel functions of the batched candidate evaluator. gpu.js compiles them from their source
// text (to WGSL, WebAssembly or JavaScript), so they use only its JS subset: arithmetic, Math.*,
// loops whose bounds are arguments (capped by the kernel's loopMaxIterations), this.thread.x.
// Every array is flat; candidate c's block of a batched array starts at c · (its size per candidate).
/* eslint-disable */
// biome-ignore-all lint: kernel bodies are gpu.js source, written in its restricted JS subset

/**
 * Batched rotation as a GEMM: out[c, t, j] = Σ_k x[t, k] · R_c[k, j] for every candidate c
 * (x: rows × dim, shared; r: the candidates' dense dim × dim rotations back to back).
 */
export function rotateBatchKernel(this: any, x: number[], r: number[], rows: number, dim: number): number {
  const g = this.thread.x;
  const per = rows * dim;
  const c = Math.floor(g / per);
  const rem = g - c * per;
  const t = Math.floor(rem / dim);
  const j = rem - t * dim;
  const xo = t * dim;
  const ro = c * dim * dim + j;
  let s = 0.0;
  for (let k = 0; k < dim; k++) {
    s += x[xo + k] * r[ro + k * dim];
  }
  return s;
}

/**
 * Per-row symmetric fake-quant error sums of a batch of rotated rows (rows × cols): output 2·rows,
 * [Σ(x̂ − x)², Σx²] per row. Scale s = max|row| / qmax; q = clamp(round-half-even(x/s), −qmax−1, qmax).
 * gpu.js's Math.round rounds halves toward +∞ in every mode, so ties are moved to the even neighbour.
 */
export function rowErrorKernel(this: any, x: number[], cols: number, qmax: number): number {
  const u = Math.floor(this.thread.x / 2);
  const which = this.thread.x - u * 2;
  const o = u * cols;
  let m = 0.0;
  for (let j = 0; j < cols; j++) {
    m = Math.max(m, Math.abs(x[o + j]));
  }
  const s = m / qmax;
  if (s === 0) return 0.0;
  let acc = 0.0;
  // A second loop variable name: gpu.js's WGSL output declares loop variables in one scope.
  for (let i = 0; i < cols; i++) {
    const v = x[o + i];
    if (which === 0) {
      const q0 = v / s;
      let r = Math.round(q0);
      if (r - q0 === 0.5 && Math.abs(r - 2 * Math.floor(r / 2)) > 0.5) r = r - 1;
      const q = Math.min(Math.max(r, -qmax - 1), qmax);
      const d = q * s - v;
      acc += d * d;
    } else {
      acc += v * v;
    }
  }
  return acc;
}

/** Per-row symmetric scale max|row| / qmax (output: rows). */
export function rowScaleKernel(this: any, x: number[], cols: number, qmax: number): number {
  const o = this.thread.x * cols;
  let m = 0.0;
  for (let j = 0; j < cols; j++) {
    m = Math.max(m, Math.abs(x[o + j]));
  }
  return m / qmax;
}

/** Elementwise per-row symmetric fake quant with the row's scale (output: rows · cols). */
export function fakeQuantRowKernel(
  this: any,
  x: number[],
  scales: number[],
  cols: number,
  qmax: number,
): number {
  const g = this.thread.x;
  const s = scales[Math.floor(g / cols)];
  if (s === 0) return 0.0;
  const q0 = x[g] / s;
  let r = Math.round(q0);
  if (r - q0 === 0.5 && Math.abs(r - 2 * Math.floor(r / 2)) > 0.5) r = r - 1;
  const q = Math.min(Math.max(r, -qmax - 1), qmax);
  return q * s;
}

/**
 * GEMM error partials of a batch: thread (c, t, b) returns Σ over outputs o in block b (`ob` outputs)
 * of (Σ_k xq[c, t, k] · wq[c, o, k] − y[t, o])². xq: candidates × rows × dim, wq: candidates × out × dim,
 * y: rows × out (the unquantized X·Wᵀ, shared).
 */
export function gemmErrorKernel(
  this: any,
  xq: number[],
  wq: number[],
  y: number[],
  rows: number,
  out: number,
  dim: number,
  ob: number,
): number {
  const g = this.thread.x;
  const nb = Math.ceil(out / ob);
  const per = rows * nb;
  const c = Math.floor(g / per);
  const rem = g - c * per;
  const t = Math.floor(rem / nb);
  const b = rem - t * nb;
  const xo = (c * rows + t) * dim;
  let e = 0.0;
  for (let i = 0; i < ob; i++) {
    const o = b * ob + i;
    if (o < out) {
      const wo = (c * out + o) * dim;
      let s = 0.0;
      for (let k = 0; k < dim; k++) {
        s += xq[xo + k] * wq[wo + k];
      }
      const d = s - y[t * out + o];
      e += d * d;
    }
  }
  return e;
}
