export { uploadModel, forwardWebGPU, type GpuModel } from './forward.js';
export { MATMUL_WGSL, ATTENTION_WGSL, RMSNORM_WGSL, ROPE_WGSL, SWIGLU_WGSL, EMBED_WGSL, MAX_ATTENTION_TOKENS } from './shaders.js';
