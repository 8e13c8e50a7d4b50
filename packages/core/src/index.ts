export * from './errors.js';
export * from './matrix.js';
export * from './rng.js';
export * from './registry.js';
export { compareArrays, describeComparison, checkConformance, type Tolerance, type Comparison } from './conformance.js';
export type { WebGPUContext, WebGPUOptions } from './backend/webgpu.js';
export type { GpuJsContext, GpuJsMode } from './backend/gpujs.js';
