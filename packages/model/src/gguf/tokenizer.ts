// The tokenizer stored in a GGUF's metadata (tokenizer.ggml.*), read without touching the tensors.
import { Tokenizer } from '../tokenizer/tokenizer.js';
import { openGguf } from './reader.js';

/** Builds the SentencePiece-BPE tokenizer of a GGUF file ("llama" tokenizer model). */
export async function loadGgufTokenizer(path: string): Promise<Tokenizer> {
  const g = openGguf(path);
  try {
    return Tokenizer.fromGgufMetadata(g.metadata, { file: path });
  } finally {
    g.close();
  }
}
