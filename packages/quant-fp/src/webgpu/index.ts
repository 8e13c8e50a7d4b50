// @nq/quant-fp/webgpu — fake-quant of every QuantSpec format on WebGPU, and the fused GEMM-error path
// with any format. Re-exports @nq/quant-int4/webgpu's building blocks.
export * from '@nq/quant-int4/webgpu';
export * from './kernels.js';
export {
  fakeQuantGpu,
  fakeQuantWebGPU,
  fpScalesGpu,
  gemmErrorWebGPU,
  gpuQuantizerFor,
  quantizeWebGPU,
} from './quantize.js';
export * from './wgsl-snippets.js';
