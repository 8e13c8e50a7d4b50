export * from './types.js';
export * from './tokenizer/index.js';
export * from './gguf/index.js';
export { headDim, kvDim, validateConfig, CONFIG_LIMITS } from './config.js';
export { parseNpy, readNpy, type NpyArray, type NpyData } from './npy.js';
export { loadLlama2c } from './loaders/llama2c.js';
export { loadSafetensors, readHfConfig, unpermuteRotary } from './loaders/safetensors.js';
export { loadModel, detectModelFormat, type ModelFormat } from './loaders/load-model.js';
