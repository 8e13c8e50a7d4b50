// GGUF for @nq/model: reader (header, metadata, tensors decoded via @nq/kquants), writer, and the
// llama architecture mapping (load a model, save a model, llama-quantize-style file conversion).

export {
  fileTypeOf,
  type GgufLoadedModel,
  LAYER_TENSOR_NAMES,
  llamaConfigFromGguf,
  llamaCppTensorOrder,
  llamaTensorShapes,
  loadGgufModel,
  loadLlamaFromGguf,
  modelToGguf,
  type QuantizeGgufOptions,
  quantizeGgufFile,
  type SaveGgufOptions,
  saveGgufModel,
  type TensorTyping,
  tokenizerKv,
} from './llama.js';
export {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GgufFile,
  metaNumber,
  metaString,
  openGguf,
  parseGguf,
  parseGgufHeader,
} from './reader.js';
export { type ByteSource, bufferSource, fileSource } from './source.js';
export { loadGgufTokenizer } from './tokenizer.js';
export * from './types.js';
export { type GgufTensorToWrite, kv, serializeGguf, writeGguf } from './writer.js';
