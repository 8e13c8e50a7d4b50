export { forwardWebGPU, type GpuModel, uploadModel, type WebGPUForwardOptions } from './forward.js';
export { generateGreedyWebGPU } from './generate.js';
export type { GpuForwardHooks, GpuWork, LinearInputGroup } from './hooks.js';
export { createGpuKvCache, type GpuKvCache, resetGpuKvCache } from './kv-cache.js';
export { GEMV_MAX_ROWS, recordMatmul } from './matmul.js';
export {
  ATTENTION_CHANNELS_PER_THREAD,
  ATTENTION_TILE,
  ATTENTION_WGSL,
  EMBED_WGSL,
  GEMV_WGSL,
  MATMUL_WGSL,
  RMSNORM_WGSL,
  ROPE_WGSL,
  SWIGLU_WGSL,
} from './shaders.js';
