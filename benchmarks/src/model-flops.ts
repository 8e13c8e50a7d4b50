import type { ModelConfig } from '@nq/model';

/**
 * Floating-point operations (2 per multiply-add) of one prefill of T tokens that a pass needs:
 *  - 'all' (perplexity, or a token-by-token loop): every block linear and causal attention
 *    (T(T+1)/2 query-key pairs per head, scores and values) at every position, and T classifier rows;
 *  - 'last' (prompt evaluation): the same for every layer but the last, which needs K and V of every
 *    position and the rest (q, attention, o, MLP) only at the last position, then one classifier
 *    row. This is what llama.cpp's prompt evaluation and nq's `lastOnly` compute, so both are
 *    credited with the work they actually do;
 *  - 'none' (filling the KV cache only): the last layer stops after K and V, no classifier
 *    (llama.cpp's evaluation with no output requested, nq's `noLogits`).
 */
export function prefillFlops(c: ModelConfig, T: number, logits: 'all' | 'last' | 'none'): number {
  const hd = c.dim / c.nHeads;
  const kv = hd * c.nKvHeads;
  const kvLinear = c.dim * 2 * kv;
  const restLinear = c.dim * (2 * c.dim) + 3 * c.dim * c.hiddenDim; // q, o, gate, up, down
  const layerAll = T * (kvLinear + restLinear) + c.nHeads * hd * 2 * ((T * (T + 1)) / 2);
  if (logits === 'all') return 2 * (c.nLayers * layerAll + T * c.vocabSize * c.dim);
  if (logits === 'none') return 2 * ((c.nLayers - 1) * layerAll + T * kvLinear);
  const lastLayer = T * kvLinear + restLinear + c.nHeads * hd * 2 * T;
  return 2 * ((c.nLayers - 1) * layerAll + lastLayer + c.vocabSize * c.dim);
}
