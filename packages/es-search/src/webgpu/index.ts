/** @nq/es-search/webgpu — batched candidate evaluation on WebGPU (int8 / int4 / w4a4 targets). */
export { W4A4_CHUNK_BYTES, WebGPUErrorEvaluator, w4a4CandidateBytes } from './evaluator.js';
export { QUANT_ERROR_WGSL } from './quant-error.wgsl.js';
