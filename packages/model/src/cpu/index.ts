export { gemmABt } from './gemm.js';
export { createGemmPool, type GemmPool } from './threads.js';
export { defaultWasmGemm, WasmGemm } from './wasm/wasm-gemm.js';
export { forward, type ForwardOptions, type GemmFn } from './forward.js';
export { createKvCache, resetKvCache, type KvCache } from './kv-cache.js';
export { generateGreedy, argmaxRow } from './generate.js';
export { rmsNorm, applyRope, attention, swiglu, RopeTable } from './ops.js';
