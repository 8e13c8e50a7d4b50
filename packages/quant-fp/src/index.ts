// @nq/quant-fp — FP8 (E4M3, E5M2), NVFP4, MXFP4, and the dispatcher over every QuantSpec format.
// Re-exports @nq/quant-int4 (QuantSpec, INT quantizers, metrics), so this is the one import for users
// who handle any format. The dispatcher's `gemmError` replaces quant-int4's int-only one.
export * from '@nq/quant-int4';
export * from './cpu/index.js';
export { dequantize, fakeQuant, gemmError, type Quantized, quantize, quantizerFor } from './dispatch.js';
export * from './formats/minifloat.js';
