import { NqInputError } from '@nq/core';
import type { ForwardHooks, GemmFn, LoadedModel } from '@nq/model';
import { type RowFn, runWindows } from './run-windows.js';
import { RefBuilder, type RefLogprobs, type RefStorage, validateStorage } from './stats/reference.js';
import { type KlReport, summarize } from './stats/summary.js';
import { newTokenScores, PositionScorer } from './stats/token-scores.js';
import { type EvalWindow, makeWindows, totalScored } from './windows.js';

/*
 * Two-model evaluation: evaluate() applies a recipe to one model; packages that build their own
 * candidate model (GPTQ, codecs, TurboQuant, searched rotations) score it here instead, against the
 * full-precision model on the same windows, with the same statistics as evaluate(). The reference
 * stays in memory so one FP pass serves many candidates.
 */

/** Full-precision log-probs of a model on chosen windows of a token stream. */
export interface ModelReference {
  ref: RefLogprobs;
  windows: EvalWindow[];
  tokens: Int32Array;
}

export interface ReferenceOptions {
  /** Window length in tokens (default: the model's context seqLen). */
  ctx?: number;
  /** Sliding-window stride; unset = non-overlapping windows. */
  stride?: number;
  /** Keep only N windows, chosen by `select`. */
  windows?: number;
  /** 'first' (default, as evaluate()) or 'spread' over the text. */
  select?: 'first' | 'spread';
  /** Use exactly these windows instead of cutting them from ctx/stride/windows/select. */
  windowList?: EvalWindow[];
  /** Storage of the reference distribution (default full vocabulary). */
  storage?: RefStorage;
  /** GEMM used by the forward pass (default @nq/model's). */
  gemm?: GemmFn;
}

/** The statistics fields evaluate() and scoreCandidate() both report (llama.cpp's definitions). */
export interface ScoreStats {
  ppl: number;
  ppl_se: number;
  ppl_base: number;
  ppl_base_se: number;
  kld_mean: number;
  kld_se: number;
  kld_median: number;
  kld_p99: number;
  kld_max: number;
  /** Same-top-token fraction (0..1). */
  top1: number;
  top1_se: number;
  /** 'full' or 'top<k>+rest' (see RefStorage). */
  kld_method: string;
}

/** The ScoreStats fields of a summary, in evaluate()'s order. */
export function scoreStats(r: KlReport, storage: RefStorage): ScoreStats {
  return {
    ppl: r.pplQ.value,
    ppl_se: r.pplQ.se,
    ppl_base: r.pplBase.value,
    ppl_base_se: r.pplBase.se,
    kld_mean: r.kld.mean,
    kld_se: r.kld.se,
    kld_median: r.kld.median,
    kld_p99: r.kld.p99,
    kld_max: r.kld.max,
    top1: r.sameTop.value,
    top1_se: r.sameTop.se,
    kld_method: storage.kind === 'full' ? 'full' : `top${storage.k}+rest`,
  };
}

/** What scoreCandidate reports: evaluate()'s statistics, plus per-token KLD. */
export interface CandidateScore extends ScoreStats {
  windows: number;
  tokens_scored: number;
  /** Wall-clock seconds of the candidate pass. */
  seconds: number;
  /** KL divergence at every scored position (for paired comparisons on the same tokens). */
  kldPerToken: Float64Array;
  report: KlReport;
}

/**
 * What buildReference runs, checked: the token ids, the windows (cut from ctx/stride/windows/select
 * or given) and the storage. Shared by the CPU and WebGPU builders.
 * @internal
 */
export function referencePlan(
  model: LoadedModel,
  tokens: ArrayLike<number>,
  opts: ReferenceOptions,
): { ids: Int32Array; windows: EvalWindow[]; builder: RefBuilder } {
  const vocab = model.config.vocabSize;
  const ids = Int32Array.from(tokens);
  for (let i = 0; i < ids.length; i++) {
    const t = ids[i]!;
    if (t < 0 || t >= vocab || t !== tokens[i])
      throw new NqInputError(
        `tokens[${i}]`,
        `is ${tokens[i]}, not a token id of the model's vocabulary ${vocab}`,
        'Use the tokenizer that belongs to this model.',
      );
  }
  let windows: EvalWindow[];
  if (opts.windowList) {
    windows = opts.windowList;
    for (const w of windows)
      if (w.start < 0 || w.start + w.length > ids.length || w.length > model.config.seqLen)
        throw new NqInputError(
          'opts.windowList',
          `has window {start: ${w.start}, length: ${w.length}} outside the ${ids.length} tokens or the model context ${model.config.seqLen}`,
          'Cut the windows with makeWindows() on the same tokens.',
        );
  } else {
    const ctx = opts.ctx ?? model.config.seqLen;
    if (ctx > model.config.seqLen)
      throw new NqInputError(
        'ctx',
        `is ${ctx}, longer than the model's context ${model.config.seqLen}`,
        `Use ctx ≤ ${model.config.seqLen}.`,
      );
    windows = makeWindows(ids.length, {
      ctx,
      stride: opts.stride,
      maxWindows: opts.windows,
      select: opts.select,
    });
  }
  const storage = validateStorage(opts.storage ?? { kind: 'full' }, vocab);
  return { ids, windows, builder: new RefBuilder(vocab, totalScored(windows), storage) };
}

/** Runs the full-precision `model` over the windows of `tokens` and keeps its log-probs. */
export function buildReference(
  model: LoadedModel,
  tokens: ArrayLike<number>,
  opts: ReferenceOptions = {},
): ModelReference {
  const vocab = model.config.vocabSize;
  const { ids, windows, builder } = referencePlan(model, tokens, opts);
  runWindows(model, ids, windows, (logits, _w, j, target) => builder.add(logits, j * vocab, target), {
    gemm: opts.gemm,
  });
  return { ref: builder.ref, windows, tokens: ids };
}

/**
 * The scoring half of scoreCandidate, for any backend: `run` hands every scored logits row of the
 * reference's windows, in order, to the callback it is given.
 * @internal
 */
export async function scoreWith(
  reference: ModelReference,
  vocab: number,
  run: (onRow: RowFn) => void | Promise<void>,
): Promise<CandidateScore> {
  const t0 = performance.now();
  const { ref, windows } = reference;
  if (vocab !== ref.vocab)
    throw new NqInputError(
      'model',
      `has vocabulary ${vocab}, the reference ${ref.vocab}`,
      'Score a candidate of the same model.',
    );
  const scores = newTokenScores(ref.positions);
  const scorer = new PositionScorer(ref);
  let pos = 0;
  await run((logits, _w, j, target) => scorer.score(logits, j * ref.vocab, target, pos++, scores));
  return scoreResult(ref.storage, windows.length, pos, scores, t0);
}

function scoreResult(
  storage: RefStorage,
  windows: number,
  pos: number,
  scores: ReturnType<typeof newTokenScores>,
  t0: number,
): CandidateScore {
  const r = summarize(scores);
  return {
    ...scoreStats(r, storage),
    windows,
    tokens_scored: pos,
    seconds: (performance.now() - t0) / 1000,
    kldPerToken: scores.kld.slice(0, pos),
    report: r,
  };
}

/** PPL, KLD against the reference and top-1 agreement of a candidate model (+ forward hooks). */
export function scoreCandidate(
  reference: ModelReference,
  model: LoadedModel,
  hooks?: ForwardHooks,
  opts: { gemm?: GemmFn } = {},
): CandidateScore {
  const t0 = performance.now();
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
  runWindows(
    model,
    tokens,
    windows,
    (logits, _w, j, target) => scorer.score(logits, j * ref.vocab, target, pos++, scores),
    { hooks, gemm: opts.gemm },
  );
  return scoreResult(ref.storage, windows.length, pos, scores, t0);
}
