/** @nq/es-search/webgpu — batched candidate evaluation on WebGPU (int8 / int4 targets). */
export { WebGPUErrorEvaluator } from './evaluator.js';
export { QUANT_ERROR_WGSL } from './quant-error.wgsl.js';
