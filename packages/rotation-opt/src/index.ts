// @nq/rotation-opt — rotations that are optimized rather than drawn at random (CPU).

export * from './adacodec.js';
export * from './analysis.js';
export * from './cayley.js';
export * from './codec-stepper.js';
export * from './cpu/index.js';
export * from './dfrot.js';
export * from './evaluate.js';
export * from './massive.js';
export * from './methods.js';
export * from './pipeline.js';
export * from './quantizers.js';
export * from './surrogate.js';
