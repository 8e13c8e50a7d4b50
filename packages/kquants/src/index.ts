// @nq/kquants: llama.cpp's GGUF block formats. The CPU kernels are the implementation; this entry
// point re-exports the backend-neutral API (format table, dequantize, quantize, recipes).
export * from './formats.js';
export { dequantize, dequantizeInto, quantize, quantizeInto, type QuantizeOptions, DEFAULT_FMA } from './cpu/index.js';
export { toHalf, fromHalf, toBf16, fromBf16 } from './cpu/half.js';
export * from './recipes.js';
