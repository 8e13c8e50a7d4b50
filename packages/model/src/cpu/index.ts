export { type ForwardOptions, forward, type GemmFn } from './forward.js';
export { gemmABt } from './gemm.js';
export { argmaxRow, generateGreedy } from './generate.js';
export {
  createKvCache,
  type KvCache,
  type KvCacheOptions,
  releaseKvCache,
  resetKvCache,
} from './kv-cache.js';
export { applyRope, attention, RopeTable, rmsNorm, swiglu } from './ops.js';
export { createGemmPool, type GemmPool, type GemmPoolOptions, residentWeights } from './threads.js';
export { defaultWasmGemm, WasmGemm } from './wasm/wasm-gemm.js';
