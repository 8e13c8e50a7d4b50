import { NqInputError } from '@nq/core';
import {
  type EvalWindow,
  type KlReport,
  makeWindows,
  newTokenScores,
  PositionScorer,
  RefBuilder,
  type RefLogprobs,
  summarize,
  totalScored,
} from '@nq/eval-ppl';
import { type ForwardHooks, forward, type GemmFn, type LoadedModel } from '@nq/model';

/*
 * PPL / KLD / top-1 of a quantized model against its full-precision model, with @nq/eval-ppl's
 * statistics (llama.cpp's definitions and error bars). eval-ppl's evaluate() applies a recipe to
 * one model; GPTQ produces a different model, so here the reference and the candidate are two
 * models run on the same windows.
 */

export interface Reference {
  ref: RefLogprobs;
  windows: EvalWindow[];
  tokens: Int32Array;
}

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

/** Full-precision log-probs of `model` on `windows` of `tokens` (non-overlapping windows of ctx). */
export function buildReference(
  model: LoadedModel,
  tokens: Int32Array,
  opts: { ctx?: number; windows?: number; select?: 'first' | 'spread'; gemm?: GemmFn } = {},
): Reference {
  const ctx = opts.ctx ?? model.config.seqLen;
  if (ctx > model.config.seqLen)
    throw new NqInputError(
      'ctx',
      `is ${ctx}, longer than the model's context ${model.config.seqLen}`,
      `Use ctx ≤ ${model.config.seqLen}.`,
    );
  const windows = makeWindows(tokens.length, {
    ctx,
    maxWindows: opts.windows,
    select: opts.select ?? 'spread',
  });
  const b = new RefBuilder(model.config.vocabSize, totalScored(windows), { kind: 'full' });
  runWindows(model, undefined, tokens, windows, opts.gemm, (logits, j, target) =>
    b.add(logits, j * model.config.vocabSize, target),
  );
  return { ref: b.ref, windows, tokens };
}

/** Scores a candidate model (+ hooks, e.g. activation fake-quant) against a reference. */
export function scoreCandidate(
  model: LoadedModel,
  hooks: ForwardHooks | undefined,
  reference: Reference,
  gemm?: GemmFn,
): CandidateMetrics {
  const { ref, windows, tokens } = reference;
  if (model.config.vocabSize !== ref.vocab)
    throw new NqInputError(
      'model',
      `has vocabulary ${model.config.vocabSize}, the reference ${ref.vocab}`,
      'Score a candidate of the same model.',
    );
  const scores = newTokenScores(ref.positions);
  const scorer = new PositionScorer(ref);
  let pos = 0;
  runWindows(model, hooks, tokens, windows, gemm, (logits, j, target) =>
    scorer.score(logits, j * ref.vocab, target, pos++, scores),
  );
  const r = summarize(scores);
  return {
    ppl: r.pplQ.value,
    ppl_se: r.pplQ.se,
    ppl_base: r.pplBase.value,
    kld_mean: r.kld.mean,
    kld_se: r.kld.se,
    top1: r.sameTop.value,
    top1_se: r.sameTop.se,
    tokens_scored: ref.positions,
    report: r,
  };
}

function runWindows(
  model: LoadedModel,
  hooks: ForwardHooks | undefined,
  tokens: Int32Array,
  windows: EvalWindow[],
  gemm: GemmFn | undefined,
  onRow: (logits: Float32Array, j: number, target: number) => void,
): void {
  for (const w of windows) {
    const ids = tokens.subarray(w.start, w.start + w.length);
    const logits = forward(model, ids, { ...(hooks ? { hooks } : {}), ...(gemm ? { gemm } : {}) }).data;
    for (let j = w.scoreFrom; j < w.length - 1; j++) onRow(logits, j, ids[j + 1]!);
  }
}
