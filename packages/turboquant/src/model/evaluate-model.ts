import {
  buildReference as buildModelReference,
  type KlReport,
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

export interface CandidateResult {
  ppl: number;
  ppl_se: number;
  ppl_base: number;
  kld_mean: number;
  kld_se: number;
  top1: number;
  top1_se: number;
  positions: number;
  seconds: number;
  report: KlReport;
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
  return {
    ppl: m.ppl,
    ppl_se: m.ppl_se,
    ppl_base: m.ppl_base,
    kld_mean: m.kld_mean,
    kld_se: m.kld_se,
    top1: m.top1,
    top1_se: m.top1_se,
    positions: m.report.count,
    seconds: m.seconds,
    report: m.report,
  };
}
