/**
 * log-softmax of one logits row, in float64 (the reference figures use float64 log-probabilities).
 * Writes n values into out[0..n) and returns the index of the largest logit (first one on ties, as
 * llama.cpp does with a strict `>`).
 */
export function logSoftmaxRow(logits: Float32Array, offset: number, n: number, out: Float64Array): number {
  let max = logits[offset]!;
  let argmax = 0;
  for (let i = 1; i < n; i++) {
    const v = logits[offset + i]!;
    if (v > max) {
      max = v;
      argmax = i;
    }
  }
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(logits[offset + i]! - max);
  const lse = max + Math.log(sum);
  for (let i = 0; i < n; i++) out[i] = logits[offset + i]! - lse;
  return argmax;
}
