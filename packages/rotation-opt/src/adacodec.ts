import type { BlockOrthogonal } from './cayley.js';
import { blockProcrustes, CodecStepper, resolveAdaCodecOptions } from './codec-stepper.js';
import type { RowQuantizer } from './quantizers.js';
import { type ExpectedErrorSurrogate, expectedErrorSurrogate } from './surrogate.js';

/**
 * AdaCodec: a block-diagonal orthogonal encoder E and decoder D around activation quantization,
 *   X̂ = Q(X·E)·D,
 * trained on calibration activations to minimise the weighted reconstruction error
 *   L(E, D) = Σₜ wₜ‖Q(xₜE)·D − xₜ‖² / Σₜ wₜ‖xₜ‖²
 * on the Stiefel manifold (each b × b block orthogonal) with Cayley-transform steps. Both start as
 * the same block random Hadamard (D = Eᵀ, so X̂ = Q(XE)Eᵀ: a plain rotation).
 *
 * Encoder gradient (`gradient`):
 *  - 'expected' (default): the gradient of a smooth surrogate of the *expected* quantization error
 *    (surrogate.ts: Σ g·Mₚ(z_group)², the scale-setting group maxima), ∂S/∂E_k = X_kᵀ·(∂S/∂Z)_k;
 *  - 'ste': straight-through, ∂Q(z)/∂z := I, with G = diag(w)(X̂ − X):
 *    ∂L/∂E_k = X_kᵀ·(G·Dᵀ)_k. Measured to be a poor descent direction (README): with D = Eᵀ,
 *    G·Dᵀ = Q(Z) − Z is the rounding residual, zero-mean noise uncorrelated with X.
 * Decoder (`decoder`):
 *  - 'procrustes' (default): for the current E, the exact minimiser of L over block-orthogonal D,
 *    D_k = Procrustes(Ẑ_kᵀ·diag(w)·X_k) — a global minimiser, so it never raises L for that E;
 *  - 'ste': a Cayley step along ∂L/∂D_k = Ẑ_kᵀG_k;   - 'tied': D = Eᵀ (a learned block rotation).
 * Steps: Cayley Θ ← (I + τ/2·A)⁻¹(I − τ/2·A)·Θ with A the skew gradient (plus `momentum` times
 * the previous A, Cayley SGD with momentum), τ = lr/max_k‖A_k‖_F, lr on a cosine schedule; the
 * codec with the smallest real (quantized) loss over all iterates is returned.
 * At inference E runs online on the linear's input and D is fused into the weight: W' = W·Dᵀ.
 */
export interface AdaCodecOptions {
  /** Block size b (divides n; default 64). */
  block?: number;
  /** Seed of the block random Hadamard initialisation (default 0). */
  seed?: number;
  /** Cayley steps (default 60). */
  iterations?: number;
  /** Initial step angle (default 0.05). */
  lr?: number;
  /** Per-token weights (e.g. γ for massive tokens); default all 1. */
  weights?: Float64Array | null;
  /** Encoder gradient: 'expected' (default; needs `surrogate`) or 'ste'. */
  gradient?: 'expected' | 'ste';
  /** The expected-error surrogate for gradient 'expected' (surrogateFor(format)); default per-row INT4, p = 12. */
  surrogate?: ExpectedErrorSurrogate;
  /** Decoder: 'procrustes' (default), 'ste', or 'tied' (D = Eᵀ: a learned block rotation). */
  decoder?: 'procrustes' | 'ste' | 'tied';
  /** @deprecated false = decoder 'tied'. */
  trainDecoder?: boolean;
  /** Momentum on the Cayley skew matrices (default 0.9 for 'expected', 0 for 'ste'). */
  momentum?: number;
  /**
   * 'cosine' (default): every step taken, step angle lr·(1 + cos(πi/N))/2, the best iterate returned;
   * 'monotone': a step is kept only when the loss decreases (lr ×1.2), else rejected (lr ×0.5).
   */
  schedule?: 'cosine' | 'monotone';
  onIteration?: (it: number, loss: number, lr: number) => void;
}

export interface AdaCodecResult {
  enc: BlockOrthogonal;
  dec: BlockOrthogonal;
  /** loss[0] at init, loss[i] after step i (unchanged when a 'monotone' step was rejected). */
  loss: number[];
  /** Index into `loss` of the returned (best) codec. */
  best: number;
  accepted: number;
  seconds: number;
}

/** out = X·B for a block-diagonal B (rows × n, float32). */
export function blockApply(
  x: Float32Array,
  rows: number,
  b: BlockOrthogonal,
  out: Float32Array = new Float32Array(rows * b.n),
  transpose = false,
): Float32Array {
  const { n, block, blocks } = b;
  const bb = block * block;
  const acc = new Float64Array(block);
  for (let t = 0; t < rows; t++) {
    const o = t * n;
    for (let k = 0; k < n / block; k++) {
      acc.fill(0);
      const c0 = k * block;
      const bo = k * bb;
      for (let i = 0; i < block; i++) {
        const xi = x[o + c0 + i]!;
        if (xi === 0) continue;
        if (transpose) for (let j = 0; j < block; j++) acc[j]! += xi * blocks[bo + j * block + i]!;
        else {
          const ro = bo + i * block;
          for (let j = 0; j < block; j++) acc[j]! += xi * blocks[ro + j]!;
        }
      }
      for (let j = 0; j < block; j++) out[o + c0 + j] = acc[j]!;
    }
  }
  return out;
}

/** Per block k: out_k = A_kᵀ·C_k (b × b), A, C [rows, n]. */
export function blockCross(
  a: Float32Array,
  c: Float32Array,
  rows: number,
  n: number,
  block: number,
  out: Float64Array,
): Float64Array {
  out.fill(0);
  const bb = block * block;
  for (let t = 0; t < rows; t++) {
    const o = t * n;
    for (let k = 0; k < n / block; k++) {
      const c0 = o + k * block;
      const bo = k * bb;
      for (let i = 0; i < block; i++) {
        const ai = a[c0 + i]!;
        if (ai === 0) continue;
        const ro = bo + i * block;
        for (let j = 0; j < block; j++) out[ro + j]! += ai * c[c0 + j]!;
      }
    }
  }
  return out;
}

interface State {
  z: Float32Array;
  zq: Float32Array;
  y: Float32Array;
  loss: number;
}

function evaluateCodec(
  x: Float32Array,
  rows: number,
  enc: BlockOrthogonal,
  dec: BlockOrthogonal,
  quantize: RowQuantizer,
  w: Float64Array | null,
  den: number,
  st: State,
): State {
  blockApply(x, rows, enc, st.z);
  quantize(st.z, rows, enc.n, st.zq);
  blockApply(st.zq, rows, dec, st.y);
  let num = 0;
  const n = enc.n;
  for (let t = 0; t < rows; t++) {
    let e = 0;
    for (let j = 0; j < n; j++) {
      const d = st.y[t * n + j]! - x[t * n + j]!;
      e += d * d;
    }
    num += (w ? w[t]! : 1) * e;
  }
  st.loss = num / den;
  return st;
}

/** Codec reconstruction loss L(E, D) (definition above) — for reports and tests. */
export function codecLoss(
  x: Float32Array,
  rows: number,
  enc: BlockOrthogonal,
  dec: BlockOrthogonal,
  quantize: RowQuantizer,
  w: Float64Array | null = null,
): number {
  const n = enc.n;
  const st: State = {
    z: new Float32Array(rows * n),
    zq: new Float32Array(rows * n),
    y: new Float32Array(rows * n),
    loss: 0,
  };
  return evaluateCodec(x, rows, enc, dec, quantize, w, weightedEnergy(x, rows, n, w), st).loss;
}

export function weightedEnergy(x: Float32Array, rows: number, n: number, w: Float64Array | null): number {
  let den = 0;
  for (let t = 0; t < rows; t++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += x[t * n + j]! ** 2;
    den += (w ? w[t]! : 1) * s;
  }
  return den > 0 ? den : 1;
}

/**
 * The heavy products of one training run on the CPU (float32 activations, float64 accumulation).
 * State: Z = X·E, Ẑ = Q(Z) of the last `encode`, X̂ = Ẑ·D of the last `decode`.
 * The webgpu backend implements the same operations (webgpu/adacodec.ts).
 */
export class CpuCodecEngine {
  private readonly z: Float32Array;
  private readonly zq: Float32Array;
  private readonly y: Float32Array;
  private readonly g: Float32Array;
  private readonly gdt: Float32Array;
  private readonly gradE: Float64Array;
  private readonly gradD: Float64Array;
  readonly den: number;

  constructor(
    private readonly x: Float32Array,
    private readonly rows: number,
    private readonly n: number,
    private readonly block: number,
    private readonly quantize: RowQuantizer,
    private readonly w: Float64Array | null,
  ) {
    const len = rows * n;
    this.z = new Float32Array(len);
    this.zq = new Float32Array(len);
    this.y = new Float32Array(len);
    this.g = new Float32Array(len);
    this.gdt = new Float32Array(len);
    this.gradE = new Float64Array((n / block) * block * block);
    this.gradD = new Float64Array(this.gradE.length);
    this.den = weightedEnergy(x, rows, n, w);
  }

  encode(enc: BlockOrthogonal): void {
    blockApply(this.x, this.rows, enc, this.z);
    this.quantize(this.z, this.rows, this.n, this.zq);
  }

  /** X̂ = Ẑ·D and the loss L(E, D). */
  decode(dec: BlockOrthogonal): number {
    blockApply(this.zq, this.rows, dec, this.y);
    const { n, x, y, w } = this;
    let num = 0;
    for (let t = 0; t < this.rows; t++) {
      let e = 0;
      for (let j = t * n; j < (t + 1) * n; j++) e += (y[j]! - x[j]!) ** 2;
      num += (w ? w[t]! : 1) * e;
    }
    return num / this.den;
  }

  /** STE gradients at the last encode/decode: ∂L/∂E_k = X_kᵀ(G·Dᵀ)_k, ∂L/∂D_k = Ẑ_kᵀG_k (G = w(X̂ − X)). */
  steGradients(dec: BlockOrthogonal, wantD: boolean): { gradE: Float64Array; gradD: Float64Array | null } {
    const { n, x, y, g, w } = this;
    for (let t = 0; t < this.rows; t++) {
      const wt = w ? w[t]! : 1;
      for (let j = t * n; j < (t + 1) * n; j++) g[j] = wt * (y[j]! - x[j]!);
    }
    blockApply(g, this.rows, dec, this.gdt, true);
    blockCross(x, this.gdt, this.rows, n, this.block, this.gradE);
    if (wantD) blockCross(this.zq, g, this.rows, n, this.block, this.gradD);
    return { gradE: this.gradE, gradD: wantD ? this.gradD : null };
  }

  /** ∂S/∂E_k = X_kᵀ(∂S/∂Z)_k of the expected-error surrogate at the last encode; returns S. */
  surrogateGradient(s: ExpectedErrorSurrogate): { gradE: Float64Array; value: number } {
    const value = expectedErrorSurrogate(this.z, this.rows, this.n, s, this.w, this.den, this.g);
    blockCross(this.x, this.g, this.rows, this.n, this.block, this.gradE);
    return { gradE: this.gradE, value };
  }

  /** Per block Ẑ_kᵀ·diag(w)·X_k at the last encode (the decoder's Procrustes cross product). */
  decoderCross(): Float64Array {
    const { n, zq, g, w } = this;
    for (let t = 0; t < this.rows; t++) {
      const wt = w ? w[t]! : 1;
      for (let j = t * n; j < (t + 1) * n; j++) g[j] = wt * zq[j]!;
    }
    return blockCross(g, this.x, this.rows, n, this.block, this.gradD);
  }
}

export function trainAdaCodec(
  x: Float32Array,
  rows: number,
  n: number,
  quantize: RowQuantizer,
  opts: AdaCodecOptions = {},
): AdaCodecResult {
  const t0 = performance.now();
  const o = resolveAdaCodecOptions(x.length, rows, n, opts);
  const eng = new CpuCodecEngine(x, rows, n, o.block, quantize, o.weights);
  const st = new CodecStepper(n, o);
  eng.encode(st.enc);
  st.start(eng.decode(st.dec));
  for (let it = 1; it <= o.iterations; it++) {
    // Gradients at the current codec (the engine holds its Z, Ẑ, X̂).
    let gradE: Float64Array;
    let gradD: Float64Array | null = null;
    if (o.gradient === 'ste') {
      const g = eng.steGradients(st.dec, o.decoder === 'ste');
      gradE = g.gradE;
      gradD = g.gradD;
    } else {
      gradE = eng.surrogateGradient(o.surrogate).gradE;
      if (o.decoder === 'ste') gradD = eng.steGradients(st.dec, true).gradD;
    }
    const cand = st.propose(gradE, gradD);
    eng.encode(cand.enc);
    const dec =
      o.decoder === 'procrustes' ? blockProcrustes(eng.decoderCross(), n, o.block) : st.decoderFor(cand);
    const took = st.finish(it, cand.enc, dec, eng.decode(dec));
    if (!took) {
      eng.encode(st.enc);
      eng.decode(st.dec);
    }
  }
  return st.result(t0);
}
