// The format-neutral description of a SentencePiece BPE tokenizer. Each loader (.model protobuf,
// llama2.c tokenizer.bin, GGUF metadata) produces one of these; `Tokenizer` is built from it.

/** SentencePiece piece types (the numbers of ModelProto.SentencePiece.Type, also GGUF's token_type). */
export const PieceType = {
  Normal: 1,
  Unknown: 2,
  Control: 3,
  UserDefined: 4,
  Unused: 5,
  Byte: 6,
} as const;
export type PieceType = (typeof PieceType)[keyof typeof PieceType];

export interface TokenizerSpec {
  /** Piece text per id, with spaces as U+2581 (▁), as in the .model file. */
  pieces: string[];
  /** Merge priority per id (larger merges first). */
  scores: Float32Array;
  /** PieceType per id. */
  types: Uint8Array;
  /** Prepend ▁ to every non-empty input (normalizer_spec.add_dummy_prefix). */
  addDummyPrefix: boolean;
  /** Drop leading/trailing spaces and collapse runs of spaces (normalizer_spec.remove_extra_whitespaces). */
  removeExtraWhitespaces: boolean;
  /** Replace ' ' by ▁ (normalizer_spec.escape_whitespaces). */
  escapeWhitespaces: boolean;
  /** Decompose characters missing from the vocabulary into <0xNN> byte pieces (trainer_spec.byte_fallback). */
  byteFallback: boolean;
  /** Text that decode() prints for the unknown piece (trainer_spec.unk_surface, default " ⁇ "). */
  unkSurface: string;
  /** Piece texts of the special tokens, looked up like SentencePiece's bos_id()/eos_id()/pad_id(). */
  bosPiece: string;
  eosPiece: string;
  padPiece: string;
  /** Ids given explicitly by the file (GGUF) that override the piece lookup; undefined = look up. */
  bosId?: number;
  eosId?: number;
  padId?: number;
  /** Where the spec came from, for error messages. */
  source: string;
}

/** SentencePiece's default unknown surface: " ⁇ " (U+2047 with a space either side). */
export const DEFAULT_UNK_SURFACE = ' \u2047 ';

/** The whitespace symbol U+2581 that SentencePiece writes for ' '. */
export const SPACE_SYMBOL = '\u2581';
