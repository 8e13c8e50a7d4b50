/** @nq/es-search/cpu — the CPU cost evaluator (the reference) and its quantization kernel. */
export { CpuErrorEvaluator, TARGET_BITS } from './evaluator.js';
export { type ErrorSums, errorSums, fakeQuantRowsSym } from './quant-error.js';
