export type { GpuJsContext, GpuJsMode } from './backend/gpujs.js';
export type { WebGPUContext, WebGPUOptions } from './backend/webgpu.js';
export {
  type Comparison,
  checkConformance,
  compareArrays,
  describeComparison,
  type Tolerance,
} from './conformance.js';
export * from './errors.js';
export * from './matrix.js';
export * from './registry.js';
export * from './rng.js';
