/** @nq/hadamard/gpujs — the rotations as gpu.js kernels (webgpu / webasm / cpu modes). */
export {
  GPUJS_DEFAULT_MODE,
  type GpuJsRotateOptions,
  gpuJsKernelBackends,
  releaseGpuJsKernels,
  rotateGpuJs,
} from './rotate.js';
