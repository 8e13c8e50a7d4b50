// @nq/kquants/gpujs: dequantization with gpu.js (Q8_0, Q4_K, Q6_K), checked against the CPU.
export { dequantizeGpuJs, GPUJS_DEQUANT_FORMATS } from './dequantize.js';
