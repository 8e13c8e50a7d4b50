import { type ForwardHooks, forward, type GemmFn, type LoadedModel } from '@nq/model';
import type { EvalWindow } from './windows.js';

/** Called for every scored position, in order: the logits row j of window w predicts `target`. */
export type RowFn = (logits: Float32Array, w: EvalWindow, j: number, target: number) => void;

/**
 * Runs every window through the model (+ hooks, + a GEMM) and hands each scored logits row to
 * `onRow`, in window order; `afterWindow` runs once per window (progress reporting).
 */
export function runWindows(
  model: LoadedModel,
  tokens: Int32Array,
  windows: readonly EvalWindow[],
  onRow: RowFn,
  opts: { hooks?: ForwardHooks; gemm?: GemmFn; afterWindow?: (index: number, w: EvalWindow) => void } = {},
): void {
  const fwd = { ...(opts.hooks ? { hooks: opts.hooks } : {}), ...(opts.gemm ? { gemm: opts.gemm } : {}) };
  for (let i = 0; i < windows.length; i++) {
    const w = windows[i]!;
    const ids = tokens.subarray(w.start, w.start + w.length);
    const logits = forward(model, ids, fwd).data;
    for (let j = w.scoreFrom; j < w.length - 1; j++) onRow(logits, w, j, ids[j + 1]!);
    opts.afterWindow?.(i, w);
  }
}
