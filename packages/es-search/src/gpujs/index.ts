/** @nq/es-search/gpujs — batched candidate evaluation with gpu.js kernels (webgpu / webasm / cpu modes). */
export { type GpuJsEvaluatorOptions, GpuJsErrorEvaluator } from './evaluator.js';
export { fakeQuantRowKernel, gemmErrorKernel, rotateBatchKernel, rowErrorKernel, rowScaleKernel } from './kernels.js';
