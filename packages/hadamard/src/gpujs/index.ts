/** @nq/hadamard/gpujs — the rotations as gpu.js kernels (webgpu / webasm / cpu modes). */
export { rotateGpuJs, releaseGpuJsKernels, gpuJsKernelBackends, GPUJS_DEFAULT_MODE, type GpuJsRotateOptions } from './rotate.js';
