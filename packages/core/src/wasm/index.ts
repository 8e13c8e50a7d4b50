/**
 * @nq/core/wasm: a small WebAssembly binary assembler for nq's run-time generated SIMD kernels (no
 * toolchain, no .wasm blobs in the repository). Covers what the kernels use: LEB128, one memory
 * (imported, possibly shared, or defined and exported), functions with i32/f32/v128 params and no
 * results, their types, exports and code, the core and SIMD (0xfd-prefixed) instructions.
 * Binary format: https://webassembly.github.io/spec/core/binary/
 */
export { F32, F64, Func, I32, I64, SIMD_PREFIX, V128 } from './func.js';
export { name, sleb, uleb, vec } from './leb128.js';
export { buildModule, ENV_MEMORY, type MemoryLimits, type MemorySpec } from './module.js';
