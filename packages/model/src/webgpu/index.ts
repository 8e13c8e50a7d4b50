export { forwardWebGPU, type GpuModel, uploadModel } from './forward.js';
export {
  ATTENTION_WGSL,
  EMBED_WGSL,
  MATMUL_WGSL,
  MAX_ATTENTION_TOKENS,
  RMSNORM_WGSL,
  ROPE_WGSL,
  SWIGLU_WGSL,
} from './shaders.js';
