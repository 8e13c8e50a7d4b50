export * from './types.js';
export * from './tokenizer/index.js';
export * from './gguf/index.js';
