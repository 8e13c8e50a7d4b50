import { logSoftmaxRow } from './log-softmax.js';
import type { RefLogprobs } from './reference.js';

/** Per scored position: what the candidate and the reference say about it. */
export interface TokenScores {
  /** Positions filled so far. */
  count: number;
  /** −log q(target), candidate. */
  nll: Float64Array;
  /** −log p(target), full-precision reference. */
  nllBase: Float64Array;
  /** KL(P_fp ‖ P_q) at this position (nats). */
  kld: Float64Array;
  /** q(target) − p(target). */
  pDiff: Float64Array;
  /** 1 when argmax q = argmax p. */
  sameTop: Uint8Array;
}

export function newTokenScores(positions: number): TokenScores {
  return {
    count: 0,
    nll: new Float64Array(positions),
    nllBase: new Float64Array(positions),
    kld: new Float64Array(positions),
    pDiff: new Float64Array(positions),
    sameTop: new Uint8Array(positions),
  };
}

/**
 * Scores candidate logits rows against a reference, position by position, with its own scratch
 * space (no allocation per row). KL(P‖Q) = Σ p_i (log p_i − log q_i) over the full vocabulary, or
 * over the top-k bins + one remainder bin for a top-k reference (see RefStorage).
 */
export class PositionScorer {
  private readonly logq: Float64Array;
  private readonly mask: Uint8Array;

  constructor(private readonly ref: RefLogprobs) {
    this.logq = new Float64Array(ref.vocab);
    this.mask = new Uint8Array(ref.vocab);
  }

  /** Scores reference position `pos` from the candidate logits row at `offset`; appends to out. */
  score(logits: Float32Array, offset: number, target: number, pos: number, out: TokenScores): void {
    const { ref, logq } = this;
    const vocab = ref.vocab;
    const argmaxQ = logSoftmaxRow(logits, offset, vocab, logq);
    const lpTarget = ref.targetLogp[pos]!;
    const lqTarget = logq[target]!;
    let kld = 0;
    if (ref.storage.kind === 'full') {
      const lp = ref.logp!;
      const base = pos * vocab;
      for (let i = 0; i < vocab; i++) {
        const a = lp[base + i]!;
        kld += Math.exp(a) * (a - logq[i]!);
      }
    } else {
      const k = ref.storage.k;
      const base = pos * k;
      const idx = ref.topIdx!;
      const tl = ref.topLogp!;
      const mask = this.mask;
      for (let j = 0; j < k; j++) {
        const i = idx[base + j]!;
        const a = tl[base + j]!;
        kld += Math.exp(a) * (a - logq[i]!);
        mask[i] = 1;
      }
      let qRest = 0;
      for (let i = 0; i < vocab; i++) if (mask[i] === 0) qRest += Math.exp(logq[i]!);
      for (let j = 0; j < k; j++) mask[idx[base + j]!] = 0;
      const lpRest = ref.restLogMass![pos]!;
      if (lpRest > Number.NEGATIVE_INFINITY) kld += Math.exp(lpRest) * (lpRest - Math.log(qRest));
    }
    const c = out.count++;
    out.nll[c] = -lqTarget;
    out.nllBase[c] = -lpTarget;
    out.kld[c] = kld;
    out.pDiff[c] = Math.exp(lqTarget) - Math.exp(lpTarget);
    out.sameTop[c] = argmaxQ === ref.top1[pos] ? 1 : 0;
  }
}
