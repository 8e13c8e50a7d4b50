export * from './hessian.js';
export * from './linalg.js';
export * from './schemes.js';
export * from './gptq.js';
