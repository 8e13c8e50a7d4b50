export * from './int-quantize.js';
export * from './pack.js';
export * from './gemm.js';
