import {
  buildReference as buildModelReference,
  type CandidateScore,
  type ModelReference,
  scoreCandidate as scoreModelCandidate,
} from '@nq/eval-ppl';
import type { ForwardHooks, LoadedModel } from '@nq/model';

/*
 * Evaluation of a candidate model whose weights another package changed (TurboQuant, rescaling):
 * thin wrappers over @nq/eval-ppl's buildReference / scoreCandidate (same windows, same statistics,
 * reference = the FP model kept in memory and reused across candidates), with this package's
 * defaults (ctx 256, windows spread over the text) and result shape.
 */

export type Reference = ModelReference;

export interface CandidateResult extends CandidateScore {
  /** Scored positions (= tokens_scored). */
  positions: number;
}

/** FP reference log-probs on `windows` non-overlapping ctx-token windows spread over the text. */
export function buildReference(
  model: LoadedModel,
  tokens: Int32Array,
  opts: { ctx?: number; windows?: number },
): Reference {
  return buildModelReference(model, tokens, {
    ctx: opts.ctx ?? 256,
    windows: opts.windows,
    select: 'spread',
  });
}

/** PPL, KLD against the reference, top-1 agreement of a candidate model (+ optional hooks). */
export function scoreCandidate(
  reference: Reference,
  model: LoadedModel,
  hooks?: ForwardHooks,
): CandidateResult {
  const m = scoreModelCandidate(reference, model, hooks);
  return { ...m, positions: m.report.count };
}
