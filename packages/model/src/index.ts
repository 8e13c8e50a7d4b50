export { CONFIG_LIMITS, headDim, kvDim, validateConfig } from './config.js';
export {
  argmaxRow,
  createGemmPool,
  createKvCache,
  type ForwardOptions,
  forward,
  type GemmFn,
  type GemmPool,
  gemmABt,
  generateGreedy,
  type KvCache,
  type KvCacheOptions,
  releaseKvCache,
  resetKvCache,
} from './cpu/index.js';
export * from './gguf/index.js';
export type { ForwardHooks } from './hooks.js';
export { loadLlama2c } from './loaders/llama2c.js';
export { detectModelFormat, loadModel, type ModelFormat } from './loaders/load-model.js';
export { loadSafetensors, readHfConfig, unpermuteRotary } from './loaders/safetensors.js';
export { type NpyArray, type NpyData, parseNpy, readNpy } from './npy.js';
export { randomModel, TINY_CONFIG } from './random-model.js';
export * from './tokenizer/index.js';
export * from './transforms/index.js';
export * from './types.js';
