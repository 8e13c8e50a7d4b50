// @nq/quant-int4 — INT-n quantization, the QuantSpec contract and the error metrics.
// The CPU reference is the backend-neutral API (synchronous); GPU backends live in ./webgpu and ./gpujs.
// For every format (int + fp8/nvfp4/mxfp4) through one dispatcher, import from @nq/quant-fp.

export * from './cpu/index.js';
export * from './gemm-error.js';
export * from './layout.js';
export * from './metrics.js';
export * from './round.js';
export * from './spec.js';
