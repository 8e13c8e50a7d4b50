// @nq/quant-fp/gpujs — fake-quant of every QuantSpec format as gpu.js kernels (correctness first).
export { fakeQuantGpuJs } from './quantize.js';
export { rmf, amaxKernel, fpParamsKernel, fpApplyKernel } from './fp-kernels.js';
