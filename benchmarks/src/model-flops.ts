import type { ModelConfig } from '@nq/model';

/**
 * Floating-point operations (2 per multiply-add) of one prefill of T tokens: every block linear,
 * causal attention (T(T+1)/2 query-key pairs per head, scores and values), and `logitRows` rows of
 * the classifier (T for perplexity, 1 for prompt evaluation).
 */
export function prefillFlops(c: ModelConfig, T: number, logitRows: number): number {
  const hd = c.dim / c.nHeads;
  const kv = hd * c.nKvHeads;
  const linear = c.nLayers * (c.dim * (c.dim + 2 * kv + c.dim) + 3 * c.dim * c.hiddenDim);
  const attention = c.nLayers * c.nHeads * hd * 2 * ((T * (T + 1)) / 2);
  return 2 * (T * linear + attention + logitRows * c.vocabSize * c.dim);
}
