// @nq/kquants/webgpu: dequantization kernels (WGSL), bit-identical to the CPU reference.
export { dequantizeGpu, dequantizeWebGPU } from './dequantize.js';
export { WEBGPU_DEQUANT_FORMATS, dequantShader } from './wgsl.js';
