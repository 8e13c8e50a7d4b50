import { NqInputError } from '@nq/core';

/**
 * One evaluation window: tokens[start .. start+length) run through the model on their own (no
 * state carried between windows). The logits at window position j predict token start+j+1; the
 * positions scored are j = scoreFrom .. length−2.
 */
export interface EvalWindow {
  start: number;
  length: number;
  /** First window position whose logits are scored (0 = every token after the first one). */
  scoreFrom: number;
}

export interface WindowProtocol {
  /** Tokens per window. */
  ctx: number;
  /**
   * Sliding mode when set: windows start every `stride` tokens; the first window scores tokens
   * 2..ctx, every later window only its last `stride` tokens (the ones no earlier window scored), so
   * each scored token sees at least ctx − stride tokens of context. Unset (default): non-overlapping
   * windows, every window scores tokens 2..ctx.
   */
  stride?: number;
  /** Keep only N windows: the first N (default), or N spread evenly over the text (see `select`). */
  maxWindows?: number;
  /**
   * 'first' (default, like llama.cpp's --chunks): windows 0..N−1. 'spread': windows ⌊i·W/N⌋ for
   * i < N out of all W windows, so a subset samples the whole text (non-overlapping mode only).
   */
  select?: 'first' | 'spread';
}

/**
 * Cuts a stream of nTokens into windows. Default protocol (the one the shared reference figures
 * use): non-overlapping windows of ctx tokens, the last partial window dropped, each scoring tokens
 * 2..ctx. In sliding mode, windows are [i·stride, i·stride+ctx) for every i with i·stride+ctx ≤
 * nTokens; tokens after the last full window are not scored.
 */
export function makeWindows(nTokens: number, protocol: WindowProtocol): EvalWindow[] {
  const { ctx, stride, maxWindows } = protocol;
  if (!Number.isInteger(ctx) || ctx < 2) {
    throw new NqInputError(
      'ctx',
      `must be an integer ≥ 2, got ${ctx}`,
      'Pass the window length in tokens, e.g. 256.',
    );
  }
  if (stride !== undefined && (!Number.isInteger(stride) || stride < 1 || stride > ctx)) {
    throw new NqInputError(
      'stride',
      `must be an integer in 1..ctx (${ctx}), got ${stride}`,
      'Pass a stride ≤ ctx, e.g. ctx/2, or leave it unset for non-overlapping windows.',
    );
  }
  if (maxWindows !== undefined && (!Number.isInteger(maxWindows) || maxWindows < 1)) {
    throw new NqInputError(
      'windows',
      `must be a positive integer, got ${maxWindows}`,
      'Pass how many windows to evaluate, or leave it unset for all.',
    );
  }
  if (!Number.isInteger(nTokens) || nTokens < ctx) {
    throw new NqInputError(
      'text',
      `encodes to ${nTokens} tokens, fewer than one window of ctx=${ctx}`,
      'Use a longer text or a smaller ctx.',
    );
  }
  const step = stride ?? ctx;
  if (protocol.select === 'spread') {
    if (stride !== undefined) {
      throw new NqInputError(
        'select',
        "'spread' only applies to non-overlapping windows",
        'Leave stride unset, or use the first N windows.',
      );
    }
    const all = Math.floor(nTokens / ctx);
    const n = Math.min(all, maxWindows ?? all);
    return Array.from({ length: n }, (_, i) => ({
      start: Math.floor((i * all) / n) * ctx,
      length: ctx,
      scoreFrom: 0,
    }));
  }
  const windows: EvalWindow[] = [];
  for (let start = 0; start + ctx <= nTokens; start += step) {
    const first = windows.length === 0 || stride === undefined;
    windows.push({ start, length: ctx, scoreFrom: first ? 0 : ctx - 1 - step });
    if (maxWindows !== undefined && windows.length >= maxWindows) break;
  }
  return windows;
}

/** Number of positions scored in a window. */
export function scoredInWindow(w: EvalWindow): number {
  return w.length - 1 - w.scoreFrom;
}

export function totalScored(windows: readonly EvalWindow[]): number {
  let n = 0;
  for (const w of windows) n += scoredInWindow(w);
  return n;
}
