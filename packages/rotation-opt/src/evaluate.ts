import {
  buildReference as buildModelReference,
  type KlReport,
  type ModelReference,
  scoreCandidate as scoreModelCandidate,
} from '@nq/eval-ppl';
import type { ForwardHooks, GemmFn, LoadedModel } from '@nq/model';

/*
 * PPL / KLD / top-1 of a codec model (a different model + hooks) against the full-precision model:
 * thin wrappers over @nq/eval-ppl's buildReference / scoreCandidate, keeping this package's
 * argument order and result shape.
 */
export type Reference = ModelReference;

export interface Metrics {
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

/** Full-precision log-probs on `windows` non-overlapping windows of ctx tokens ('spread' over the text by default). */
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
