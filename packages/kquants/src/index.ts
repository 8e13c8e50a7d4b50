// @nq/kquants: llama.cpp's GGUF block formats. The CPU kernels are the implementation; this entry
// point re-exports the backend-neutral API (format table, dequantize, quantize, recipes).

export { fromBf16, fromHalf, toBf16, toHalf } from './cpu/half.js';
export {
  DEFAULT_FMA,
  dequantize,
  dequantizeInto,
  type QuantizeOptions,
  quantize,
  quantizeInto,
} from './cpu/index.js';
export * from './formats.js';
export * from './recipes.js';
