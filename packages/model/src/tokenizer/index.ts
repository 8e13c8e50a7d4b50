// SentencePiece BPE tokenizer: .model protobuf, llama2.c tokenizer.bin and GGUF metadata.

export { type GgufTokenizerInfo, specFromGgufMetadata } from './gguf-tokenizer.js';
export { type Llama2cTokenizerOptions, specFromLlama2cTokenizer } from './llama2c-tokenizer.js';
export {
  parseSentencePieceModelProto,
  type SentencePieceModelProto,
  specFromSentencePieceModel,
} from './sentencepiece-model.js';
export { PieceType, SPACE_SYMBOL, type TokenizerSpec } from './spec.js';
export { type EncodeOptions, Tokenizer } from './tokenizer.js';
