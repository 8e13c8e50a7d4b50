import {
  buildReference as buildModelReference,
  type KlReport,
  type ModelReference,
  scoreCandidate as scoreModelCandidate,
} from '@nq/eval-ppl';
import type { ForwardHooks, GemmFn, LoadedModel } from '@nq/model';

/*
 * PPL / KLD / top-1 of a quantized model against its full-precision model: thin wrappers over
 * @nq/eval-ppl's buildReference / scoreCandidate (two models on the same windows), keeping this
 * package's argument order and result shape for its scripts.
 */

export type Reference = ModelReference;

export interface CandidateMetrics {
  ppl: number;
  ppl_se: number;
  ppl_base: number;
  kld_mean: number;
  kld_se: number;
  top1: number;
  top1_se: number;
  tokens_scored: number;
  report: KlReport;
}

/** Full-precision log-probs of `model` on `windows` of `tokens` (non-overlapping, 'spread' by default). */
export function buildReference(
  model: LoadedModel,
  tokens: Int32Array,
  opts: { ctx?: number; windows?: number; select?: 'first' | 'spread'; gemm?: GemmFn } = {},
): Reference {
  return buildModelReference(model, tokens, { ...opts, select: opts.select ?? 'spread' });
}

/** Scores a candidate model (+ hooks, e.g. activation fake-quant) against a reference. */
export function scoreCandidate(
  model: LoadedModel,
  hooks: ForwardHooks | undefined,
  reference: Reference,
  gemm?: GemmFn,
): CandidateMetrics {
  const m = scoreModelCandidate(reference, model, hooks, { gemm });
  return {
    ppl: m.ppl,
    ppl_se: m.ppl_se,
    ppl_base: m.ppl_base,
    kld_mean: m.kld_mean,
    kld_se: m.kld_se,
    top1: m.top1,
    top1_se: m.top1_se,
    tokens_scored: reference.ref.positions,
    report: m.report,
  };
}
