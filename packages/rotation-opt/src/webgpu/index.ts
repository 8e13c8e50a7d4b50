// @nq/rotation-opt/webgpu — DFRot and AdaCodec with their heavy products on a WebGPU device.
export * from './ops.js';
export * from './plan.js';
export * from './train.js';
