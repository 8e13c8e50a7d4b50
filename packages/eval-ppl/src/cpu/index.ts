// The CPU kernels of the evaluation (float64 log-softmax, per-position KL scoring).
export { logSoftmaxRow } from '../stats/log-softmax.js';
export { RefBuilder, selectTopK } from '../stats/reference.js';
export { newTokenScores, PositionScorer } from '../stats/token-scores.js';
