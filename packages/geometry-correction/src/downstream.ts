// Downstream loss: mean next-token negative log-likelihood (nats), log-softmax in float64.

import type { ForwardHooks, LoadedModel } from '@nq/model';
import { forward } from '@nq/model';

/**
 * Mean NLL over every window: position t predicts token t+1 for t = 0..T−2 (the same tokens for
 * every model, so differences between models are paired).
 */
export function meanNll(
  model: LoadedModel,
  hooks: ForwardHooks | undefined,
  windows: ArrayLike<number>[],
): number {
  let total = 0;
  let count = 0;
  for (const win of windows) {
    const logits = forward(model, win, hooks ? { hooks } : {});
    const V = logits.cols;
    for (let t = 0; t + 1 < win.length; t++) {
      const o = t * V;
      let mx = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < V; i++) mx = Math.max(mx, logits.data[o + i]!);
      let s = 0;
      for (let i = 0; i < V; i++) s += Math.exp(logits.data[o + i]! - mx);
      const target = win[t + 1]!;
      total += mx + Math.log(s) - logits.data[o + target]!;
      count++;
    }
  }
  return total / count;
}
