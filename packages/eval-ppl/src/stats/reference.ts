import { NqInputError } from '@nq/core';
import { logSoftmaxRow } from './log-softmax.js';

/**
 * How the full-precision distribution of each scored position is kept.
 * - `full`: every log-probability (float32). KLD is exact up to float32 storage of log p.
 * - `topk`: the k most probable tokens (indices + float32 log-probs, descending) and the log of the
 *   remaining mass. KLD is then computed over k+1 bins (the k tokens and "everything else"), which is
 *   a lower bound of the full-vocabulary KL (log-sum inequality); it is exact when the rest of the
 *   candidate's distribution is proportional to the reference's. The target token's log-probability
 *   and the reference's top-1 token are always stored exactly, so PPL(base), Δp and same-top are
 *   exact in both modes.
 */
export type RefStorage = { kind: 'full' } | { kind: 'topk'; k: number };

/** The full-precision model's log-probabilities at every scored position of a protocol. */
export interface RefLogprobs {
  vocab: number;
  positions: number;
  storage: RefStorage;
  /** [positions] log p_fp(target), float64. */
  targetLogp: Float64Array;
  /** [positions] argmax of p_fp. */
  top1: Uint32Array;
  /** full: [positions × vocab] log p_fp. */
  logp?: Float32Array;
  /** topk: [positions × k] token ids, most probable first. */
  topIdx?: Uint32Array;
  /** topk: [positions × k] their log-probabilities. */
  topLogp?: Float32Array;
  /** topk: [positions] log of the probability mass outside the top k (−Infinity when none). */
  restLogMass?: Float64Array;
}

export function validateStorage(storage: RefStorage, vocab: number): RefStorage {
  if (storage.kind === 'full') return storage;
  if (storage.kind === 'topk' && Number.isInteger(storage.k) && storage.k >= 1) {
    return storage.k >= vocab ? { kind: 'full' } : storage;
  }
  throw new NqInputError(
    'refStorage',
    `is ${JSON.stringify(storage)}`,
    "Pass { kind: 'full' } or { kind: 'topk', k } with an integer k ≥ 1.",
  );
}

/** Fills a RefLogprobs position by position from the full-precision logits. */
export class RefBuilder {
  readonly ref: RefLogprobs;
  private pos = 0;
  private readonly scratch: Float64Array;
  private readonly heapIdx: Int32Array;

  constructor(vocab: number, positions: number, storage: RefStorage) {
    const s = validateStorage(storage, vocab);
    this.ref = {
      vocab,
      positions,
      storage: s,
      targetLogp: new Float64Array(positions),
      top1: new Uint32Array(positions),
    };
    if (s.kind === 'full') {
      this.ref.logp = new Float32Array(positions * vocab);
    } else {
      this.ref.topIdx = new Uint32Array(positions * s.k);
      this.ref.topLogp = new Float32Array(positions * s.k);
      this.ref.restLogMass = new Float64Array(positions);
    }
    this.scratch = new Float64Array(vocab);
    this.heapIdx = new Int32Array(s.kind === 'topk' ? s.k : 0);
  }

  get filled(): number {
    return this.pos;
  }

  /** Adds the next scored position: logits row at `offset`, the token that follows. */
  add(logits: Float32Array, offset: number, target: number): void {
    const { ref, scratch } = this;
    const vocab = ref.vocab;
    const p = this.pos++;
    const argmax = logSoftmaxRow(logits, offset, vocab, scratch);
    ref.targetLogp[p] = scratch[target]!;
    ref.top1[p] = argmax;
    if (ref.storage.kind === 'full') {
      ref.logp!.set(scratch, p * vocab);
      return;
    }
    const k = ref.storage.k;
    const n = selectTopK(scratch, vocab, k, this.heapIdx);
    const base = p * k;
    for (let j = 0; j < n; j++) {
      const i = this.heapIdx[j]!;
      ref.topIdx![base + j] = i;
      ref.topLogp![base + j] = scratch[i]!;
    }
    // The remaining mass summed directly (not 1 − kept) so that a tiny remainder keeps its precision.
    let rest = 0;
    const cut = scratch[this.heapIdx[n - 1]!]!;
    for (let i = 0; i < vocab; i++) {
      const v = scratch[i]!;
      if (v < cut) rest += Math.exp(v);
    }
    // Ties with the cut value that did not make the top k still belong to the rest.
    let tiesOut = 0;
    for (let i = 0; i < vocab; i++) if (scratch[i] === cut) tiesOut++;
    for (let j = 0; j < n; j++) if (scratch[this.heapIdx[j]!] === cut) tiesOut--;
    rest += tiesOut * Math.exp(cut);
    ref.restLogMass![p] = rest > 0 ? Math.log(rest) : Number.NEGATIVE_INFINITY;
  }
}

/**
 * Indices of the k largest values of v[0..n), largest first, lower index first on ties; written to
 * out. Keeps a sorted list of size k (insertion): almost every element fails the threshold test, so
 * this is ~n comparisons for k ≪ n.
 */
export function selectTopK(v: Float64Array, n: number, k: number, out: Int32Array): number {
  let len = 0;
  for (let i = 0; i < n; i++) {
    const x = v[i]!;
    if (len === k && !(x > v[out[k - 1]!]!)) continue;
    let j = len < k ? len++ : k - 1;
    while (j > 0 && x > v[out[j - 1]!]!) {
      out[j] = out[j - 1]!;
      j--;
    }
    out[j] = i;
  }
  return len;
}
