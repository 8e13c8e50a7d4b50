/** @nq/hadamard/webgpu — WGSL kernels and host code; data stays on the GPU between calls. */
export { prepareRotationWebGPU, subgroupsUsable, encodeRotation, rotateGpu, rotateWebGPU, type WebGPURotation, type WebGPURotateOptions, type WebGPUTuning } from './rotate.js';
export { fwhtKernelWgsl, type FwhtKernelConfig } from './wgsl-fwht.js';
export { bitsPassWgsl, mixPassWgsl, orthogonalPassWgsl } from './wgsl-passes.js';
