// @nq/gptq — GPTQ on one layer (cpu reference) and sequential quantization of a whole model.
export * from './cpu/index.js';
export * from './sequential.js';
