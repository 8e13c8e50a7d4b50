// @nq/quant-fp/gpujs — fake-quant of every QuantSpec format as gpu.js kernels (correctness first).

export { amaxKernel, fpApplyKernel, fpParamsKernel, rmf } from './fp-kernels.js';
export { fakeQuantGpuJs } from './quantize.js';
