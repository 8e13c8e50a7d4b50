// CPU kernels of the study (float64): ridge corrections, their 4-bit versions, per-channel statistics,
// the learned predictors. This package has only a CPU backend (see README).
export * from './channel-stats.js';
export * from './corrector.js';
export * from './linalg.js';
export * from './quantize-map.js';
export * from './ridge.js';
