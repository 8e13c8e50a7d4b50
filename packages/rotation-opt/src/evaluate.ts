import {
  buildReference as buildModelReference,
  type CandidateScore,
  type ModelReference,
  scoreCandidate as scoreModelCandidate,
} from '@nq/eval-ppl';
import type { ForwardHooks, GemmFn, LoadedModel } from '@nq/model';

/*
 * PPL / KLD / top-1 of a codec model (a different model + hooks) against the full-precision model: @nq/eval-ppl's
 * buildReference / scoreCandidate (two models on the same windows), with this package's argument
 * order and defaults (windows spread over the text).
 */

export type Reference = ModelReference;
export type Metrics = CandidateScore;

/** Full-precision log-probs of `model` on `windows` of `tokens` (non-overlapping, 'spread' by default). */
export function buildReference(
  model: LoadedModel,
  tokens: Int32Array,
  opts: { ctx?: number; windows?: number; select?: 'first' | 'spread'; gemm?: GemmFn } = {},
): Reference {
  return buildModelReference(model, tokens, { ...opts, select: opts.select ?? 'spread' });
}

/** Scores a candidate (model + hooks) against the reference. */
export function scoreCandidate(
  model: LoadedModel,
  hooks: ForwardHooks | undefined,
  reference: Reference,
  gemm?: GemmFn,
): Metrics {
  return scoreModelCandidate(reference, model, hooks, { gemm });
}
