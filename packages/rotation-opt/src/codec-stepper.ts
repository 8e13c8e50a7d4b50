import { NqInputError } from '@nq/core';
import type { AdaCodecOptions, AdaCodecResult } from './adacodec.js';
import {
  type BlockOrthogonal,
  blockOrthogonalityError,
  blockRandomHadamard,
  blockTranspose,
  cayleySkew,
  cayleyStepInPlace,
} from './cayley.js';
import { procrustes } from './cpu/procrustes.js';
import { checkSurrogate, type ExpectedErrorSurrogate } from './surrogate.js';

/**
 * The backend-neutral half of AdaCodec training: option checks, the Cayley step with momentum, the
 * step-size schedule and best-iterate bookkeeping (all float64, small: n/b blocks of b × b). The
 * backends (cpu: adacodec.ts, webgpu: webgpu/adacodec.ts) supply the heavy O(rows·n·b) products —
 * X·E, Q(·), Ẑ·D, the loss and the block cross products Aᵀ·C — and call this between them.
 */
export interface ResolvedAdaCodecOptions {
  block: number;
  seed: number;
  iterations: number;
  lr: number;
  weights: Float64Array | null;
  gradient: 'expected' | 'ste';
  surrogate: ExpectedErrorSurrogate;
  decoder: 'procrustes' | 'ste' | 'tied';
  momentum: number;
  schedule: 'cosine' | 'monotone';
  onIteration?: (it: number, loss: number, lr: number) => void;
}

export function resolveAdaCodecOptions(
  xLength: number,
  rows: number,
  n: number,
  opts: AdaCodecOptions,
): ResolvedAdaCodecOptions {
  const block = opts.block ?? 64;
  if (xLength !== rows * n || rows < 1)
    throw new NqInputError(
      'x',
      `has ${xLength} entries, expected rows·n = ${rows * n}`,
      'Pass calibration activations as a row-major rows × n array.',
    );
  if (!Number.isInteger(block) || block < 1 || n % block !== 0)
    throw new NqInputError(
      'block',
      `is ${block}; it must divide n = ${n}`,
      'Use a block size that divides the dimension, e.g. 64.',
    );
  const iterations = opts.iterations ?? 60;
  if (!Number.isInteger(iterations) || iterations < 0)
    throw new NqInputError('iterations', `is ${iterations}`, 'Use a non-negative integer, e.g. 60.');
  const lr = opts.lr ?? 0.05;
  if (!(lr > 0) || !Number.isFinite(lr))
    throw new NqInputError('lr', `is ${lr}`, 'Use a positive step angle, e.g. 0.05.');
  const weights = opts.weights ?? null;
  if (weights && weights.length !== rows)
    throw new NqInputError(
      'weights',
      `has ${weights.length} entries for ${rows} tokens`,
      'Pass one weight per calibration token.',
    );
  const gradient = opts.gradient ?? 'expected';
  if (gradient !== 'expected' && gradient !== 'ste')
    throw new NqInputError('gradient', `is ${JSON.stringify(gradient)}`, "Use 'expected' or 'ste'.");
  const decoder = opts.trainDecoder === false ? 'tied' : (opts.decoder ?? 'procrustes');
  if (decoder !== 'procrustes' && decoder !== 'ste' && decoder !== 'tied')
    throw new NqInputError('decoder', `is ${JSON.stringify(decoder)}`, "Use 'procrustes', 'ste' or 'tied'.");
  const surrogate = opts.surrogate ?? { group: 0, p: 12 };
  checkSurrogate(surrogate, n);
  const momentum = opts.momentum ?? (gradient === 'expected' ? 0.9 : 0);
  if (!(momentum >= 0 && momentum < 1))
    throw new NqInputError('momentum', `is ${momentum}`, 'Use a value in [0, 1), e.g. 0.9.');
  const schedule = opts.schedule ?? 'cosine';
  return {
    block,
    seed: opts.seed ?? 0,
    iterations,
    lr,
    weights,
    gradient,
    surrogate,
    decoder,
    momentum,
    schedule,
    ...(opts.onIteration ? { onIteration: opts.onIteration } : {}),
  };
}

/** Per block k: D_k = Procrustes(C_k), the orthogonal maximiser of tr(D_kᵀC_k) (C_k = Ẑ_kᵀ·W·X_k). */
export function blockProcrustes(cross: Float64Array, n: number, block: number): BlockOrthogonal {
  const bb = block * block;
  const blocks = new Float64Array(cross.length);
  for (let k = 0; k < n / block; k++)
    blocks.set(procrustes(cross.subarray(k * bb, (k + 1) * bb), block), k * bb);
  return { n, block, blocks };
}

function maxBlockNorm(a: Float64Array, block: number): number {
  const bb = block * block;
  let m = 0;
  for (let k = 0; k < a.length / bb; k++) {
    let s = 0;
    for (let i = 0; i < bb; i++) s += a[k * bb + i]! ** 2;
    m = Math.max(m, Math.sqrt(s));
  }
  return m;
}

/** Optimiser state of one AdaCodec training run. */
export class CodecStepper {
  enc: BlockOrthogonal;
  dec: BlockOrthogonal;
  readonly loss: number[] = [];
  best = 0;
  accepted = 0;
  private bestEnc: BlockOrthogonal;
  private bestDec: BlockOrthogonal;
  private lr: number;
  private readonly bb: number;
  private readonly nb: number;
  private readonly aE: Float64Array<ArrayBuffer>;
  private readonly aD: Float64Array<ArrayBuffer>;
  private readonly mE: Float64Array;
  private readonly mD: Float64Array;

  constructor(
    readonly n: number,
    readonly o: ResolvedAdaCodecOptions,
  ) {
    this.enc = blockRandomHadamard(n, o.block, o.seed);
    this.dec = blockTranspose(this.enc);
    this.bestEnc = this.enc;
    this.bestDec = this.dec;
    this.lr = o.lr;
    this.bb = o.block * o.block;
    this.nb = n / o.block;
    this.aE = new Float64Array(this.nb * this.bb);
    this.aD = new Float64Array(this.nb * this.bb);
    this.mE = new Float64Array(this.nb * this.bb);
    this.mD = new Float64Array(this.nb * this.bb);
  }

  /** Records the loss of the initial codec. */
  start(loss: number): void {
    this.loss.push(loss);
  }

  /**
   * The next candidate (E', D') from the current codec and the Euclidean block gradients
   * (gradD null: D unchanged — it is then either fixed or refit by Procrustes by the caller).
   */
  propose(gradE: Float64Array, gradD: Float64Array | null): { enc: BlockOrthogonal; dec: BlockOrthogonal } {
    const { block, momentum } = this.o;
    const { bb, nb } = this;
    const enc: BlockOrthogonal = { n: this.n, block, blocks: Float64Array.from(this.enc.blocks) };
    const dec: BlockOrthogonal = { n: this.n, block, blocks: Float64Array.from(this.dec.blocks) };
    const step = (
      theta: BlockOrthogonal,
      grad: Float64Array,
      a: Float64Array<ArrayBuffer>,
      m: Float64Array,
    ) => {
      for (let k = 0; k < nb; k++)
        cayleySkew(theta.blocks, k * bb, grad, k * bb, block, a.subarray(k * bb, (k + 1) * bb));
      // Momentum in the Lie algebra: a sum of skew matrices is skew, so the step stays exact.
      for (let i = 0; i < a.length; i++) m[i] = momentum * m[i]! + a[i]!;
      const tau = this.lr / Math.max(maxBlockNorm(m, block), 1e-300);
      for (let k = 0; k < nb; k++)
        cayleyStepInPlace(theta.blocks, k * bb, m.subarray(k * bb, (k + 1) * bb), block, tau);
    };
    step(enc, gradE, this.aE, this.mE);
    if (gradD) step(dec, gradD, this.aD, this.mD);
    return { enc, dec };
  }

  /** The decoder of a candidate encoder for decoder 'tied' (Eᵀ) or 'ste' (the proposed one). */
  decoderFor(cand: { enc: BlockOrthogonal; dec: BlockOrthogonal }): BlockOrthogonal {
    return this.o.decoder === 'tied' ? blockTranspose(cand.enc) : cand.dec;
  }

  /** Takes (or, with 'monotone', possibly rejects) the evaluated candidate; true when it became current. */
  finish(it: number, enc: BlockOrthogonal, dec: BlockOrthogonal, loss: number): boolean {
    const cur = this.loss[this.loss.length - 1]!;
    const monotone = this.o.schedule === 'monotone';
    const take = !monotone || loss < cur;
    if (take) {
      this.enc = enc;
      this.dec = dec;
      this.accepted++;
      if (monotone) this.lr = Math.min(this.lr * 1.2, 0.5);
    } else {
      this.lr *= 0.5;
      this.mE.fill(0);
      this.mD.fill(0);
    }
    if (!monotone) this.lr = this.o.lr * 0.5 * (1 + Math.cos((Math.PI * it) / this.o.iterations));
    const l = take ? loss : cur;
    if (l < this.loss[this.best]!) {
      this.best = it;
      this.bestEnc = this.enc;
      this.bestDec = this.dec;
    }
    this.loss.push(l);
    this.o.onIteration?.(it, l, this.lr);
    return take;
  }

  result(t0: number): AdaCodecResult {
    const enc = this.bestEnc;
    const dec = this.bestDec;
    const oe = Math.max(blockOrthogonalityError(enc), blockOrthogonalityError(dec));
    if (oe > 1e-6) throw new Error(`AdaCodec: blocks drifted off the orthogonal group (${oe}) — a bug`);
    return {
      enc,
      dec,
      loss: this.loss,
      best: this.best,
      accepted: this.accepted,
      seconds: (performance.now() - t0) / 1000,
    };
  }
}
