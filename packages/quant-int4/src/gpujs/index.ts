// @nq/quant-int4/gpujs — INT fake-quant as gpu.js kernels (correctness first; see README for status).

export { intApplyKernel, intParamsKernel } from './int-kernels.js';
export { cachedKernel, checkGpuJsInput, fakeQuantIntGpuJs, runKernel } from './quantize.js';
