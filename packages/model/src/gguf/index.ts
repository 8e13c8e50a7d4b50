// GGUF for @nq/model: reader (header, metadata, tensors decoded via @nq/kquants), writer, and the
// llama architecture mapping (load a model, save a model, llama-quantize-style file conversion).
export * from './types.js';
export { GGUF_MAGIC, GGUF_DEFAULT_ALIGNMENT, GgufFile, openGguf, parseGguf, parseGgufHeader, metaNumber, metaString } from './reader.js';
export { type ByteSource, bufferSource, fileSource } from './source.js';
export { type GgufTensorToWrite, serializeGguf, writeGguf, kv } from './writer.js';
export {
  type GgufLoadedModel,
  type SaveGgufOptions,
  type TensorTyping,
  type QuantizeGgufOptions,
  LAYER_TENSOR_NAMES,
  llamaConfigFromGguf,
  llamaTensorShapes,
  loadLlamaFromGguf,
  loadGgufModel,
  modelToGguf,
  saveGgufModel,
  quantizeGgufFile,
  llamaCppTensorOrder,
  tokenizerKv,
  fileTypeOf,
} from './llama.js';
export { loadGgufTokenizer } from './tokenizer.js';
