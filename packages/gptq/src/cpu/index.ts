export * from './gptq.js';
export * from './hessian.js';
export * from './linalg.js';
export * from './schemes.js';
