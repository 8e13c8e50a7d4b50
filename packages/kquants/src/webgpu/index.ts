// @nq/kquants/webgpu: dequantization kernels (WGSL), bit-identical to the CPU reference.
export { dequantizeGpu, dequantizeWebGPU } from './dequantize.js';
export { dequantShader, WEBGPU_DEQUANT_FORMATS } from './wgsl.js';
