// @nq/quant-int4/gpujs — INT fake-quant as gpu.js kernels (correctness first; see README for status).
export { fakeQuantIntGpuJs, cachedKernel, runKernel } from './quantize.js';
export { intApplyKernel, intParamsKernel } from './int-kernels.js';
