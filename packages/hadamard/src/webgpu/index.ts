/** @nq/hadamard/webgpu — WGSL kernels and host code; data stays on the GPU between calls. */
export {
  encodeRotation,
  prepareRotationWebGPU,
  rotateGpu,
  rotateWebGPU,
  subgroupsUsable,
  type WebGPURotateOptions,
  type WebGPURotation,
  type WebGPUTuning,
} from './rotate.js';
export { type FwhtKernelConfig, fwhtKernelWgsl } from './wgsl-fwht.js';
export { bitsPassWgsl, mixPassWgsl, orthogonalPassWgsl } from './wgsl-passes.js';
