export * from './gemm.js';
export * from './int-quantize.js';
export * from './pack.js';
