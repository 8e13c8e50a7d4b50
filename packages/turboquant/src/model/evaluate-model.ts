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
import { type ForwardHooks, forward, type LoadedModel } from '@nq/model';

/*
 * Evaluation glue: @nq/eval-ppl's evaluate() takes a recipe NAME/RecipeSpec and a model, and uses
 * the same model for the reference and the candidate; it has no plug-in point for a candidate model
 * whose weights were changed by another package (TurboQuant, rescaling, GPTQ). So we run the same
 * protocol here with eval-ppl's own building blocks (makeWindows, RefBuilder, PositionScorer,
 * summarize): same windows, same statistics, reference = the FP model, candidate = any model +
 * hooks. The reference is kept in memory and reused across candidates.
 */

export interface Reference {
  ref: RefLogprobs;
  tokens: Int32Array;
  windows: EvalWindow[];
}

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
  const ctx = opts.ctx ?? 256;
  if (ctx > model.config.seqLen)
    throw new NqInputError(
      'opts.ctx',
      `is ${ctx}, longer than the model context ${model.config.seqLen}`,
      `Use ctx ≤ ${model.config.seqLen}.`,
    );
  const windows = makeWindows(tokens.length, { ctx, maxWindows: opts.windows, select: 'spread' });
  const vocab = model.config.vocabSize;
  const builder = new RefBuilder(vocab, totalScored(windows), { kind: 'full' });
  for (const w of windows) {
    const ids = tokens.subarray(w.start, w.start + w.length);
    const logits = forward(model, ids).data;
    for (let j = w.scoreFrom; j < w.length - 1; j++) builder.add(logits, j * vocab, ids[j + 1]!);
  }
  return { ref: builder.ref, tokens, windows };
}

/** PPL, KLD against the reference, top-1 agreement of a candidate model (+ optional hooks). */
export function scoreCandidate(
  reference: Reference,
  model: LoadedModel,
  hooks?: ForwardHooks,
): CandidateResult {
  const t0 = performance.now();
  const { ref, tokens, windows } = reference;
  const vocab = ref.vocab;
  const scores = newTokenScores(totalScored(windows));
  const scorer = new PositionScorer(ref);
  let pos = 0;
  for (const w of windows) {
    const ids = tokens.subarray(w.start, w.start + w.length);
    const logits = forward(model, ids, hooks ? { hooks } : {}).data;
    for (let j = w.scoreFrom; j < w.length - 1; j++)
      scorer.score(logits, j * vocab, ids[j + 1]!, pos++, scores);
  }
  const r = summarize(scores);
  return {
    ppl: r.pplQ.value,
    ppl_se: r.pplQ.se,
    ppl_base: r.pplBase.value,
    kld_mean: r.kld.mean,
    kld_se: r.kld.se,
    top1: r.sameTop.value,
    top1_se: r.sameTop.se,
    positions: r.count,
    seconds: (performance.now() - t0) / 1000,
    report: r,
  };
}
