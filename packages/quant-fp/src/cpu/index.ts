export * from './fp-quantize.js';
