// @nq/rotation-opt/cpu — the float64 linear algebra under DFRot and AdaCodec.
export * from './dense64.js';
export * from './procrustes.js';
export * from './rotate-rows.js';
export * from './svd.js';
