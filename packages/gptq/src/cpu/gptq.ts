import { assertFinite, assertMatrix, assertNonEmpty, type Matrix, NqInputError } from '@nq/core';
import type { Quantized, QuantSpec, ResolvedQuantSpec } from '@nq/quant-fp';
import { newColumnLoop, quantizeBlock } from './column-loop.js';
import { F64Workspace } from './f64-workspace.js';
import type { Hessian } from './hessian.js';
import { blockedScratchDoubles, upperCholeskyOfInverseFromReversed } from './linalg-blocked.js';
import type { LloydMaxOptions } from './schemes.js';
import { type SchemeParams, type SchemeRun, toScheme, type WeightScheme } from './schemes.js';

export type SchemeInput = QuantSpec | ResolvedQuantSpec | WeightScheme | { lloydMax: LloydMaxOptions };

export interface GptqOptions {
  /** The inner quantizer: any QuantSpec, a WeightScheme, or { lloydMax: { levels, perRow } }. */
  scheme: SchemeInput;
  /** Damping λ = dampPercent · mean(diag H) added to the diagonal (default 0.01, GPTQ's percdamp). */
  dampPercent?: number;
  /** Columns per lazy batch (default 128). Results do not depend on it (up to float rounding). */
  blockSize?: number;
  /** Quantize columns in descending diag(H) order (the permutation is undone on output). Default false. */
  actOrder?: boolean;
  /** Fit every group's parameters from the original W before GPTQ starts (default false). */
  staticGroups?: boolean;
  /**
   * When H + λI is not positive definite in float64: retry with λ ×10 up to this many times (default
   * 6) and report it in `damping`; 0 = throw at once.
   */
  maxDampingRetries?: number;
  /** Compute tr((W−Ŵ)H(W−Ŵ)ᵀ) for GPTQ and RTN (rows·n² work; default true). */
  proxyLoss?: boolean;
}

export interface DampingReport {
  /** The requested fraction of mean(diag H). */
  percent: number;
  /** The fraction finally used (> percent when extra damping was needed). */
  percentUsed: number;
  /** λ added to the diagonal. */
  lambda: number;
  /** True when the requested damping was not enough and λ was raised. */
  extra: boolean;
  /** Cholesky attempts (1 = first try succeeded). */
  attempts: number;
}

export interface GptqResult {
  /** Ŵ, the dequantized weight (out × in, original column order). */
  weight: Matrix;
  /** Integer codes, rows × cols row-major in original column order (Int8Array for symmetric INT). */
  codes: Int8Array | Uint8Array;
  /** Scheme parameters (scales, zeros, codebook …) indexed by group; see `groupIndex`. */
  params: SchemeParams;
  /** For every original column, the parameter group it used (GPTQ's g_idx). */
  groupIndex: Int32Array;
  /** Processing order (act-order permutation: perm[p] = original column), or null. */
  perm: Int32Array | null;
  /**
   * The result as @nq/quant-fp's Quantized (so `dequantize(quantized)` equals `weight`); null when
   * groups are not contiguous in original order (act-order without static groups) or the scheme is
   * no QuantSpec format (Lloyd-Max).
   */
  quantized: Quantized | null;
  scheme: string;
  damping: DampingReport;
  /** Columns with H_ii = 0 (never activated): their weights are set to 0 before quantizing. */
  deadColumns: number;
  /** tr((W−Ŵ)·H·(W−Ŵ)ᵀ) with the un-damped H, or null when not computed. */
  proxyLoss: number | null;
  /** The same for round-to-nearest with the same scheme. */
  rtnProxyLoss: number | null;
  seconds: number;
  /**
   * Where the seconds went: `setup` (dead columns, act-order, damping, the float64 Cholesky and
   * triangular inverse), `columns` (the per-column loop inside blocks, on the host), `update` (the
   * lazy batch updates; on webgpu, also the per-block read-backs), `finish` (re-ordering, proxy
   * losses).
   */
  timings: { setup: number; columns: number; update: number; finish: number };
}

function checkHessian(h: Hessian | { n: number; data: Float64Array }, cols: number): void {
  if (!h || typeof h !== 'object' || !(h.data instanceof Float64Array)) {
    throw new NqInputError(
      'h',
      'must be a Hessian { n, data: Float64Array }',
      'Pass HessianAccumulator.finalize() or hessianOf(X).',
    );
  }
  if (h.n !== cols || h.data.length !== cols * cols) {
    throw new NqInputError(
      'h',
      `is ${h.n}×${h.n} (${h.data.length} values) but W has ${cols} input columns`,
      'Accumulate the Hessian from the inputs of this layer (tokens × in).',
    );
  }
  for (let i = 0; i < h.data.length; i++) {
    if (!Number.isFinite(h.data[i]!))
      throw new NqInputError(
        'h',
        `has a non-finite value at (${Math.floor(i / cols)}, ${i % cols})`,
        'Check the calibration inputs for NaN/Inf.',
      );
  }
}

/**
 * tr((W−Ŵ)·H·(W−Ŵ)ᵀ) = Σ_rows e·H·eᵀ — the layer-output error GPTQ minimises (up to the factor 2/N
 * in H: it equals ‖X·Wᵀ − X·Ŵᵀ‖²_F · 2/N for H = 2XᵀX/N).
 */
export function proxyLoss(w: Matrix, wq: Matrix, h: Hessian | { n: number; data: Float64Array }): number {
  assertMatrix(w, 'w');
  assertMatrix(wq, 'wq');
  if (wq.rows !== w.rows || wq.cols !== w.cols)
    throw new NqInputError(
      'wq',
      `is ${wq.rows}×${wq.cols}, w is ${w.rows}×${w.cols}`,
      'Pass Ŵ of the same shape as W.',
    );
  checkHessian(h, w.cols);
  const n = w.cols;
  const e = new Float64Array(n);
  const H = h.data;
  let total = 0;
  for (let r = 0; r < w.rows; r++) {
    const o = r * n;
    for (let j = 0; j < n; j++) e[j] = w.data[o + j]! - wq.data[o + j]!;
    // e·H·eᵀ using symmetry: Σ_i e_i (H_ii e_i + 2 Σ_{j>i} H_ij e_j)
    let s = 0;
    for (let i = 0; i < n; i++) {
      const ei = e[i]!;
      if (ei === 0) continue;
      const ri = i * n;
      let t = 0;
      for (let j = i + 1; j < n; j++) t += H[ri + j]! * e[j]!;
      s += ei * (H[ri + i]! * ei + 2 * t);
    }
    total += s;
  }
  return total;
}

/** Round-to-nearest with a scheme (parameters from W itself, no error feedback). */
export function rtnQuantize(
  w: Matrix,
  scheme: SchemeInput,
): { weight: Matrix; codes: Int8Array | Uint8Array; params: SchemeParams; quantized: Quantized | null } {
  assertMatrix(w, 'w');
  assertNonEmpty(w, 'w');
  assertFinite(w, 'w');
  const run = toScheme(scheme).prepare(w);
  const { rows, cols } = w;
  const codes = run.newCodes();
  const out = new Float32Array(rows * cols);
  const gs = run.groupSize;
  const block = new Float64Array(rows * gs);
  const x = new Float64Array(rows);
  const q = new Float64Array(rows);
  for (let c = 0; c < cols; c++) {
    const g = Math.floor(c / gs);
    if (c % gs === 0) {
      for (let r = 0; r < rows; r++)
        for (let j = 0; j < gs; j++) block[r * gs + j] = w.data[r * cols + c + j]!;
      run.fitGroup(g, block, gs);
    }
    for (let r = 0; r < rows; r++) x[r] = w.data[r * cols + c]!;
    run.quantizeColumn(g, x, q, codes, c, cols);
    for (let r = 0; r < rows; r++) out[r * cols + c] = q[r]!;
  }
  return {
    weight: { rows, cols, data: out },
    codes,
    params: run.params(),
    quantized: run.toQuantized(codes),
  };
}

/** What the column loop needs: W in processing order (float64), U, the scheme run, the damping report. */
export interface GptqSetup {
  rows: number;
  cols: number;
  scheme: WeightScheme;
  run: SchemeRun;
  gs: number;
  grouped: boolean;
  staticGroups: boolean;
  perm: Int32Array | null;
  /** rows × cols, processing order. */
  Wd: Float64Array;
  /** Upper Cholesky factor of (H + λI)⁻¹ in processing order, cols × cols. */
  U: Float64Array;
  /** The float64 workspace Wd and U live in (views at wdOff / uOff), with its GEMM kernel. */
  ws: F64Workspace;
  wdOff: number;
  uOff: number;
  B: number;
  damping: DampingReport;
  dead: number;
}

/** Steps 1–4 of GPTQ (shared by the cpu and webgpu column loops). */
export function gptqSetup(
  w: Matrix,
  h: Hessian | { n: number; data: Float64Array },
  opts: GptqOptions,
): GptqSetup {
  assertMatrix(w, 'w');
  assertNonEmpty(w, 'w');
  assertFinite(w, 'w');
  const { rows, cols } = w;
  checkHessian(h, cols);
  const percent = opts.dampPercent ?? 0.01;
  if (!(percent >= 0) || !Number.isFinite(percent))
    throw new NqInputError(
      'dampPercent',
      `must be a finite number ≥ 0, got ${percent}`,
      'Use 0.01 (1% of the mean diagonal).',
    );
  const B = opts.blockSize ?? 128;
  if (!Number.isInteger(B) || B < 1)
    throw new NqInputError('blockSize', `must be a positive integer, got ${B}`, 'Use 128.');
  const retries = opts.maxDampingRetries ?? 6;
  if (!Number.isInteger(retries) || retries < 0)
    throw new NqInputError(
      'maxDampingRetries',
      `must be a non-negative integer, got ${retries}`,
      'Use 6, or 0 to fail on a singular H.',
    );
  const scheme = toScheme(opts.scheme);

  // 1. dead columns; working copies in float64
  let anyDead = false;
  for (let i = 0; i < cols && !anyDead; i++) anyDead = h.data[i * cols + i] === 0;
  const H = anyDead ? Float64Array.from(h.data) : h.data; // read-only unless dead columns are patched
  const W0 = new Float32Array(w.data); // W with dead columns zeroed, original order
  let dead = 0;
  for (let i = 0; i < cols; i++) {
    if (H[i * cols + i] === 0) {
      dead++;
      H[i * cols + i] = 1;
      for (let r = 0; r < rows; r++) W0[r * cols + i] = 0;
    }
  }
  const wDead: Matrix = { rows, cols, data: W0 };
  const run: SchemeRun = scheme.prepare(wDead);
  const gs = run.groupSize;
  const grouped = gs < cols;

  // 2. static groups
  const staticGroups = (opts.staticGroups ?? false) && grouped;
  if (staticGroups) {
    const block = new Float64Array(rows * gs);
    for (let g = 0; g < run.groups; g++) {
      for (let r = 0; r < rows; r++)
        for (let j = 0; j < gs; j++) block[r * gs + j] = W0[r * cols + g * gs + j]!;
      run.fitGroup(g, block, gs);
    }
  }

  // 3. act-order
  let perm: Int32Array | null = null;
  if (opts.actOrder) {
    const idx = Array.from({ length: cols }, (_, i) => i);
    idx.sort((a, b) => H[b * cols + b]! - H[a * cols + a]! || a - b);
    perm = Int32Array.from(idx);
  }
  const orig = (p: number) => (perm ? perm[p]! : p);
  // Wd and U live in one float64 workspace (WebAssembly memory where the f64x2 kernel runs)
  const ws = new F64Workspace(rows * cols + cols * cols + blockedScratchDoubles(cols) + 8, cols, {
    maxM: Math.max(rows, cols),
  });
  const wdOff = ws.alloc(rows * cols);
  const uOff = ws.alloc(cols * cols);
  const scratch = ws.alloc(blockedScratchDoubles(cols));
  // Wd: rows × cols float64 in processing order
  const Wd = ws.view(wdOff, rows * cols);
  if (perm) {
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      for (let p = 0; p < cols; p++) Wd[o + p] = W0[o + perm[p]!]!;
    }
  } else Wd.set(W0);
  // 4. damping + upper Cholesky of H⁻¹. The factorization wants J·Hp·J (Hp = H in processing order,
  // J the reversal, see linalg-blocked.ts): position i of it is H's row/column src[i], so the
  // permutation, the reversal and the copy are one gather, one source row at a time (cache-resident)
  const src = new Int32Array(cols);
  for (let i = 0; i < cols; i++) src[i] = orig(cols - 1 - i);
  let mean = 0;
  for (let i = 0; i < cols; i++) mean += H[orig(i) * (cols + 1)]!;
  mean /= cols;
  let pct = percent;
  let attempts = 0;
  let lambda = 0;
  const U = ws.view(uOff, cols * cols); // holds J·(Hp + λI)·J, then (in place) U
  for (;;) {
    attempts++;
    lambda = pct * mean;
    for (let i = 0; i < cols; i++) {
      const s = src[i]! * cols;
      const d = i * cols;
      for (let j = 0; j < cols; j++) U[d + j] = H[s + src[j]!]!;
      U[d + i] += lambda;
    }
    const failedAt = upperCholeskyOfInverseFromReversed(ws, uOff, cols, scratch);
    if (failedAt < 0) break;
    if (attempts > retries) {
      throw new NqInputError(
        'h',
        `is not positive definite: Cholesky failed at column ${orig(failedAt)} with damping ${pct} × mean(diag H)${retries > 0 ? ` after ${attempts} attempts` : ''}`,
        retries > 0
          ? 'Use more calibration tokens (at least as many as input columns), or raise dampPercent.'
          : 'Raise dampPercent or allow maxDampingRetries > 0 (extra damping is then reported in the result).',
      );
    }
    pct = pct === 0 ? 1e-6 : pct * 10;
  }
  return {
    rows,
    cols,
    scheme,
    run,
    gs,
    grouped,
    staticGroups,
    perm,
    Wd,
    U,
    ws,
    wdOff,
    uOff,
    B,
    damping: { percent, percentUsed: pct, lambda, extra: attempts > 1, attempts },
    dead,
  };
}

/**
 * GPTQ (Frantar et al. 2022) on one linear layer W (out × in) with Hessian H = 2XᵀX/N (in × in).
 *
 * Steps, in the reference's order:
 *  1. dead columns (H_ii = 0): H_ii ← 1 and W[:, i] ← 0;
 *  2. static groups: every group's parameters fitted from this W (original column order);
 *  3. act-order: columns permuted by descending diag(H) (ties by index), W and H alike;
 *  4. damping: H ← H + λI, λ = dampPercent·mean(diag H); U = upper Cholesky factor of H⁻¹ in float64
 *     (H⁻¹ = UᵀU); if H + λI is not positive definite λ is multiplied by 10 and the attempt repeated;
 *  5. columns in blocks of `blockSize`: for column p, when a group starts (p mod g = 0, no static
 *     groups) its parameters are fitted from the current weights of its g columns — already updated
 *     for every column quantized before p (inside the block too; pending lazy updates are applied to
 *     the columns beyond the block), so results do not depend on the block size; then
 *     q = Q(w_p), err = (w_p − q)/U_pp, W[:, p+1:i2] −= err·U[p, p+1:i2] inside the block, and after
 *     the block W[:, i2:] −= Err·U[i1:i2, i2:] (one GEMM: the "lazy batch" update);
 *  6. codes and Ŵ are written in original column order.
 * Note: the reference fits a group that starts inside a block from W without that block's earlier
 * in-block updates (it reads W, not W1); with groupSize a multiple of blockSize both agree.
 */
export function gptqQuantize(
  w: Matrix,
  h: Hessian | { n: number; data: Float64Array },
  opts: GptqOptions,
): GptqResult {
  const t0 = performance.now();
  const st = gptqSetup(w, h, opts);
  const { rows, cols, Wd, B } = st;
  const timings = { setup: (performance.now() - t0) / 1000, columns: 0, update: 0, finish: 0 };
  // 5. the column loop, block by block on a transposed panel (column-loop.ts)
  const L = newColumnLoop(st);
  const P = new Float64Array(B * rows);
  for (let i1 = 0; i1 < cols; i1 += B) {
    const i2 = Math.min(i1 + B, cols);
    const bw = i2 - i1;
    const tb = performance.now();
    for (let r = 0; r < rows; r++) {
      const wr = r * cols + i1;
      for (let i = 0; i < bw; i++) P[i * rows + r] = Wd[wr + i]!;
    }
    quantizeBlock(st, L, P, i1, i2);
    const tu = performance.now();
    timings.columns += (tu - tb) / 1000;
    // lazy batch update of the columns after the block: W[:, i2:] −= Err · U[i1:i2, i2:]
    if (i2 < cols)
      st.ws.gemmSub(
        st.wdOff + i2,
        cols,
        rows,
        cols - i2,
        bw,
        { data: L.errT, off: 0, rs: 1, cs: rows },
        { data: st.ws.mem, off: st.uOff + i1 * cols + i2, rs: cols, cs: 1 },
      );
    timings.update += (performance.now() - tu) / 1000;
  }

  return gptqFinish(w, h, opts, st, L.codes, L.out, L.groupIndex, t0, timings);
}

/** Step 6 and the report (shared by the backends). */
export function gptqFinish(
  w: Matrix,
  h: Hessian | { n: number; data: Float64Array },
  opts: GptqOptions,
  st: GptqSetup,
  codes: Int8Array | Uint8Array,
  out: Float32Array,
  groupIndex: Int32Array,
  t0: number,
  timings: { setup: number; columns: number; update: number },
): GptqResult {
  const tf = performance.now();
  const { rows, cols, run, grouped, staticGroups, perm, scheme } = st;
  const weight: Matrix = { rows, cols, data: out };
  let gLoss: number | null = null;
  let rLoss: number | null = null;
  if (opts.proxyLoss ?? true) {
    gLoss = proxyLoss(w, weight, h);
    rLoss = proxyLoss(w, rtnQuantize(w, scheme).weight, h);
  }
  const contiguous = !(perm && grouped && !staticGroups);
  return {
    weight,
    codes,
    params: run.params(),
    groupIndex,
    perm,
    quantized: contiguous ? run.toQuantized(codes) : null,
    scheme: scheme.label,
    damping: st.damping,
    deadColumns: st.dead,
    proxyLoss: gLoss,
    rtnProxyLoss: rLoss,
    seconds: (performance.now() - t0) / 1000,
    timings: { ...timings, finish: (performance.now() - tf) / 1000 },
  };
}
