import { forward, gemmABt, randomModel, TINY_CONFIG } from '@nq/model';
import { describe, expect, it } from 'vitest';
import { prefillFlops } from '../src/model-flops.js';

describe('prefillFlops', () => {
  // Under 8 tokens attention runs as a direct loop, so every GEMM the forward pass calls is a linear or
  // the classifier: counting their multiply-adds checks the linear part of the formula against what
  // forward() really does, pruned last layer included.
  const T = 5;
  const c = TINY_CONFIG;
  const model = randomModel(c, 3);
  const hd = c.dim / c.nHeads;
  const macsOf = (logits: 'all' | 'last' | 'none') => {
    let macs = 0;
    const gemm = (x: Float32Array, t: number, k: number, w: Float32Array, n: number, y: Float32Array) => {
      macs += t * k * n;
      gemmABt(x, t, k, w, n, y);
    };
    forward(model, [1, 2, 3, 4, 5], { gemm, lastOnly: logits === 'last', noLogits: logits === 'none' });
    return macs;
  };

  it("'all': the linears and classifier of every position plus causal attention", () => {
    const attention = c.nLayers * c.nHeads * hd * 2 * ((T * (T + 1)) / 2);
    expect(prefillFlops(c, T, 'all')).toBe(2 * (macsOf('all') + attention));
  });

  it("'last': the last layer only at the last position (K and V everywhere), one classifier row", () => {
    // The last query sees T keys: T scores and T value rows per head.
    const attention = (c.nLayers - 1) * c.nHeads * hd * 2 * ((T * (T + 1)) / 2) + c.nHeads * hd * 2 * T;
    expect(prefillFlops(c, T, 'last')).toBe(2 * (macsOf('last') + attention));
    expect(prefillFlops(c, T, 'last')).toBeLessThan(prefillFlops(c, T, 'all'));
  });

  it("'none': the last layer only up to K and V, no classifier", () => {
    const attention = (c.nLayers - 1) * c.nHeads * hd * 2 * ((T * (T + 1)) / 2);
    expect(prefillFlops(c, T, 'none')).toBe(2 * (macsOf('none') + attention));
  });
});
