// @nq/quant-int4/webgpu — INT quantizers on WebGPU (dawn-node in Node, navigator.gpu in a browser),
// the building blocks @nq/quant-fp/webgpu reuses, and the fused rotate → quantize → GEMM-error path.

export * from './gemm-error.js';
export * from './kernels.js';
export * from './quantize.js';
export * from './wgsl-snippets.js';
