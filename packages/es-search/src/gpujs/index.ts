/** @nq/es-search/gpujs — batched candidate evaluation with gpu.js kernels (webgpu / webasm / cpu modes). */
export { GpuJsErrorEvaluator, type GpuJsEvaluatorOptions } from './evaluator.js';
export {
  fakeQuantRowKernel,
  gemmErrorKernel,
  rotateBatchKernel,
  rowErrorKernel,
  rowScaleKernel,
} from './kernels.js';
