// Reads llama2.c's `tokenizer.bin` into a TokenizerSpec.
//
// Layout (little-endian): int32 max_token_length, then per token: float32 score, int32 byte length,
// that many UTF-8 bytes. The file holds no vocabulary size (llama2.c takes it from the checkpoint)
// and no piece types, so they are inferred the way llama2.c's export wrote them:
//   - "\n<s>\n" and "\n</s>\n" are BOS/EOS (CONTROL pieces <s>, </s>),
//   - "<unk>" is the unknown piece, "<0xNN>" are byte pieces (byte fallback iff all 256 exist),
//   - every other token is NORMAL, with ' ' turned back into ▁ (the export wrote ▁ as a space).
// Normalizer settings are not stored either; the defaults are Llama-2's (dummy prefix on, extra
// whitespace kept), overridable through options.

import { NqFormatError, NqInputError } from '@nq/core';
import { DEFAULT_UNK_SURFACE, PieceType, SPACE_SYMBOL, type TokenizerSpec } from './spec.js';

export interface Llama2cTokenizerOptions {
  /** Name for error messages. */
  file?: string;
  /** Expected number of tokens (the checkpoint's vocab_size); when given, the file must hold exactly that many. */
  vocabSize?: number;
  /** Default true (Llama-2). */
  addDummyPrefix?: boolean;
  /** Default false (Llama-2). */
  removeExtraWhitespaces?: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const BYTE_PIECE = /^<0x[0-9A-F]{2}>$/;

export function specFromLlama2cTokenizer(
  bytes: Uint8Array,
  options: Llama2cTokenizerOptions = {},
): TokenizerSpec {
  const file = options.file ?? 'tokenizer.bin';
  const { vocabSize } = options;
  if (vocabSize !== undefined && !(Number.isInteger(vocabSize) && vocabSize > 0)) {
    throw new NqInputError(
      'options.vocabSize',
      `must be a positive integer, got ${vocabSize}`,
      'Pass the checkpoint vocab_size or leave it out.',
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4)
    throw new NqFormatError(file, `${bytes.length} bytes: too short for the max_token_length header`);
  const maxTokenLength = view.getInt32(0, true);
  // The longest SentencePiece piece is far below 64 KiB; an absurd value means this is not a tokenizer.bin.
  if (maxTokenLength <= 0 || maxTokenLength > 65536) {
    throw new NqFormatError(
      file,
      `max_token_length is ${maxTokenLength}, expected 1..65536 (not a llama2.c tokenizer.bin?)`,
    );
  }
  const pieces: string[] = [];
  const scores: number[] = [];
  const types: number[] = [];
  let pos = 4;
  let sawUnknown = false;
  while (pos < bytes.length && (vocabSize === undefined || pieces.length < vocabSize)) {
    const id = pieces.length;
    if (pos + 8 > bytes.length)
      throw new NqFormatError(file, `token ${id}: truncated record header at byte ${pos}`);
    const score = view.getFloat32(pos, true);
    const len = view.getInt32(pos + 4, true);
    pos += 8;
    if (len <= 0 || len > maxTokenLength) {
      throw new NqFormatError(
        file,
        `token ${id}: length ${len} outside 1..max_token_length (${maxTokenLength})`,
      );
    }
    if (pos + len > bytes.length)
      throw new NqFormatError(file, `token ${id}: ${len} bytes of text run past the end of the file`);
    if (!Number.isFinite(score)) throw new NqFormatError(file, `token ${id}: score is ${score}`);
    const text = utf8.decode(bytes.subarray(pos, pos + len));
    pos += len;
    let piece: string;
    let type: number;
    if (text === '\n<s>\n' || text === '\n</s>\n') {
      piece = text.trim();
      type = PieceType.Control;
    } else if (text === '<unk>' && !sawUnknown) {
      piece = text;
      type = PieceType.Unknown;
      sawUnknown = true;
    } else if (BYTE_PIECE.test(text)) {
      piece = text;
      type = PieceType.Byte;
    } else {
      piece = text.replaceAll(' ', SPACE_SYMBOL);
      type = PieceType.Normal;
    }
    pieces.push(piece);
    scores.push(score);
    types.push(type);
  }
  if (vocabSize !== undefined && pieces.length !== vocabSize) {
    throw new NqFormatError(file, `holds ${pieces.length} tokens, expected vocab_size ${vocabSize}`);
  }
  if (vocabSize !== undefined && pos !== bytes.length) {
    throw new NqFormatError(file, `${bytes.length - pos} bytes left over after ${vocabSize} tokens`);
  }
  if (pieces.length === 0) throw new NqFormatError(file, 'no tokens');
  const byteCount = types.filter((t) => t === PieceType.Byte).length;
  return {
    pieces,
    scores: Float32Array.from(scores),
    types: Uint8Array.from(types),
    addDummyPrefix: options.addDummyPrefix ?? true,
    removeExtraWhitespaces: options.removeExtraWhitespaces ?? false,
    escapeWhitespaces: true,
    byteFallback: byteCount === 256,
    unkSurface: DEFAULT_UNK_SURFACE,
    bosPiece: '<s>',
    eosPiece: '</s>',
    padPiece: '<pad>',
    source: file,
  };
}
