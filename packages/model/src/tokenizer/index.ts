// SentencePiece BPE tokenizer: .model protobuf, llama2.c tokenizer.bin and GGUF metadata.
export { Tokenizer, type EncodeOptions } from './tokenizer.js';
export { PieceType, SPACE_SYMBOL, type TokenizerSpec } from './spec.js';
export { specFromSentencePieceModel, parseSentencePieceModelProto, type SentencePieceModelProto } from './sentencepiece-model.js';
export { specFromLlama2cTokenizer, type Llama2cTokenizerOptions } from './llama2c-tokenizer.js';
export { specFromGgufMetadata, type GgufTokenizerInfo } from './gguf-tokenizer.js';
