// Reads a SentencePiece `.model` file (a serialized sentencepiece.ModelProto) into a TokenizerSpec.
// Field numbers are those of sentencepiece_model.proto; proto2 defaults apply to absent fields.

import { NqFormatError, NqUnsupportedError } from '@nq/core';
import { type FieldKey, ProtobufReader, WireType } from './protobuf-reader.js';
import { DEFAULT_UNK_SURFACE, PieceType, type TokenizerSpec } from './spec.js';

/** TrainerSpec.ModelType */
const ModelType = { Unigram: 1, Bpe: 2, Word: 3, Char: 4 } as const;
const MODEL_TYPE_NAMES: Record<number, string> = { 1: 'UNIGRAM', 2: 'BPE', 3: 'WORD', 4: 'CHAR' };

/** The parts of a ModelProto a BPE tokenizer needs (plus a few for diagnostics). */
export interface SentencePieceModelProto {
  pieces: string[];
  scores: Float32Array;
  types: Uint8Array;
  trainer: {
    modelType: number;
    vocabSize: number;
    byteFallback: boolean;
    treatWhitespaceAsSuffix: boolean;
    splitByWhitespace: boolean;
    unkSurface: string;
    unkPiece: string;
    bosPiece: string;
    eosPiece: string;
    padPiece: string;
  };
  normalizer: {
    name: string;
    precompiledCharsmap: Uint8Array;
    addDummyPrefix: boolean;
    removeExtraWhitespaces: boolean;
    escapeWhitespaces: boolean;
  };
  /** Denormalizer rules (decode side); only their presence is recorded. */
  hasDenormalizerRules: boolean;
}

function readPiece(r: ProtobufReader, id: number): { piece: string; score: number; type: number } {
  let piece: string | undefined;
  let score = 0;
  let type: number = PieceType.Normal;
  while (r.more()) {
    const k = r.key();
    if (k.field === 1) {
      r.expect(k, WireType.LengthDelimited, 'piece');
      piece = r.string();
    } else if (k.field === 2) {
      r.expect(k, WireType.Fixed32, 'score');
      score = r.float32();
    } else if (k.field === 3) {
      r.expect(k, WireType.Varint, 'type');
      type = r.int32();
    } else {
      r.skip(k.wireType);
    }
  }
  if (piece === undefined || piece.length === 0) {
    throw new NqFormatError(r.file, `piece ${id} has no text (a SentencePiece piece must be non-empty)`);
  }
  if (type < PieceType.Normal || type > PieceType.Byte) {
    throw new NqFormatError(
      r.file,
      `piece ${id} (${JSON.stringify(piece)}) has unknown type ${type} (expected 1..6)`,
    );
  }
  return { piece, score, type };
}

function varintField(r: ProtobufReader, k: FieldKey, name: string): number {
  r.expect(k, WireType.Varint, name);
  return r.int32();
}
function boolField(r: ProtobufReader, k: FieldKey, name: string): boolean {
  r.expect(k, WireType.Varint, name);
  return r.bool();
}
function stringField(r: ProtobufReader, k: FieldKey, name: string): string {
  r.expect(k, WireType.LengthDelimited, name);
  return r.string();
}

function readTrainerSpec(r: ProtobufReader): SentencePieceModelProto['trainer'] {
  const t: SentencePieceModelProto['trainer'] = {
    modelType: ModelType.Unigram,
    vocabSize: 8000,
    byteFallback: false,
    treatWhitespaceAsSuffix: false,
    splitByWhitespace: true,
    unkSurface: DEFAULT_UNK_SURFACE,
    unkPiece: '<unk>',
    bosPiece: '<s>',
    eosPiece: '</s>',
    padPiece: '<pad>',
  };
  while (r.more()) {
    const k = r.key();
    switch (k.field) {
      case 3:
        t.modelType = varintField(r, k, 'trainer_spec.model_type');
        break;
      case 4:
        t.vocabSize = varintField(r, k, 'trainer_spec.vocab_size');
        break;
      case 22:
        t.splitByWhitespace = boolField(r, k, 'trainer_spec.split_by_whitespace');
        break;
      case 24:
        t.treatWhitespaceAsSuffix = boolField(r, k, 'trainer_spec.treat_whitespace_as_suffix');
        break;
      case 35:
        t.byteFallback = boolField(r, k, 'trainer_spec.byte_fallback');
        break;
      case 44:
        t.unkSurface = stringField(r, k, 'trainer_spec.unk_surface');
        break;
      // SentencePiece treats an empty piece name as "use the default".
      case 45:
        t.unkPiece = stringField(r, k, 'trainer_spec.unk_piece') || t.unkPiece;
        break;
      case 46:
        t.bosPiece = stringField(r, k, 'trainer_spec.bos_piece') || t.bosPiece;
        break;
      case 47:
        t.eosPiece = stringField(r, k, 'trainer_spec.eos_piece') || t.eosPiece;
        break;
      case 48:
        t.padPiece = stringField(r, k, 'trainer_spec.pad_piece') || t.padPiece;
        break;
      default:
        r.skip(k.wireType);
    }
  }
  return t;
}

function readNormalizerSpec(r: ProtobufReader): SentencePieceModelProto['normalizer'] {
  const n: SentencePieceModelProto['normalizer'] = {
    name: '',
    precompiledCharsmap: new Uint8Array(0),
    addDummyPrefix: true,
    removeExtraWhitespaces: true,
    escapeWhitespaces: true,
  };
  while (r.more()) {
    const k = r.key();
    switch (k.field) {
      case 1:
        n.name = stringField(r, k, 'normalizer_spec.name');
        break;
      case 2:
        r.expect(k, WireType.LengthDelimited, 'normalizer_spec.precompiled_charsmap');
        n.precompiledCharsmap = r.bytesField();
        break;
      case 3:
        n.addDummyPrefix = boolField(r, k, 'normalizer_spec.add_dummy_prefix');
        break;
      case 4:
        n.removeExtraWhitespaces = boolField(r, k, 'normalizer_spec.remove_extra_whitespaces');
        break;
      case 5:
        n.escapeWhitespaces = boolField(r, k, 'normalizer_spec.escape_whitespaces');
        break;
      default:
        r.skip(k.wireType);
    }
  }
  return n;
}

/** Parses the protobuf without interpreting it (no BPE-specific checks). */
export function parseSentencePieceModelProto(
  bytes: Uint8Array,
  file = 'tokenizer.model',
): SentencePieceModelProto {
  if (bytes.length === 0)
    throw new NqFormatError(file, 'file is empty (expected a SentencePiece ModelProto)');
  const r = new ProtobufReader(bytes, file);
  const pieces: string[] = [];
  const scores: number[] = [];
  const types: number[] = [];
  let trainer: SentencePieceModelProto['trainer'] | undefined;
  let normalizer: SentencePieceModelProto['normalizer'] | undefined;
  let hasDenormalizerRules = false;
  while (r.more()) {
    const k = r.key();
    switch (k.field) {
      case 1: {
        r.expect(k, WireType.LengthDelimited, 'pieces');
        const p = readPiece(r.message(`pieces[${pieces.length}]`), pieces.length);
        pieces.push(p.piece);
        scores.push(p.score);
        types.push(p.type);
        break;
      }
      case 2:
        r.expect(k, WireType.LengthDelimited, 'trainer_spec');
        trainer = readTrainerSpec(r.message('trainer_spec'));
        break;
      case 3:
        r.expect(k, WireType.LengthDelimited, 'normalizer_spec');
        normalizer = readNormalizerSpec(r.message('normalizer_spec'));
        break;
      case 5: {
        r.expect(k, WireType.LengthDelimited, 'denormalizer_spec');
        const d = readNormalizerSpec(r.message('denormalizer_spec'));
        hasDenormalizerRules = d.precompiledCharsmap.length > 0;
        break;
      }
      default:
        r.skip(k.wireType);
    }
  }
  if (pieces.length === 0) throw new NqFormatError(file, 'no pieces (is this a SentencePiece .model file?)');
  // SentencePiece writes both specs after the pieces; a file without them was cut short.
  if (trainer === undefined)
    throw new NqFormatError(file, `no trainer_spec after ${pieces.length} pieces (truncated file?)`);
  if (normalizer === undefined) throw new NqFormatError(file, 'no normalizer_spec (truncated file?)');
  return {
    pieces,
    scores: Float32Array.from(scores),
    types: Uint8Array.from(types),
    trainer,
    normalizer,
    hasDenormalizerRules,
  };
}

/** Parses a `.model` file and checks that nq's BPE tokenizer can reproduce it exactly. */
export function specFromSentencePieceModel(bytes: Uint8Array, file = 'tokenizer.model'): TokenizerSpec {
  const m = parseSentencePieceModelProto(bytes, file);
  if (m.trainer.modelType !== ModelType.Bpe) {
    throw new NqUnsupportedError(
      `${file}: SentencePiece model type ${MODEL_TYPE_NAMES[m.trainer.modelType] ?? m.trainer.modelType}`,
      'Only BPE models (trainer_spec.model_type = BPE, as LLaMA/Llama-2 use) are supported.',
    );
  }
  if (m.trainer.treatWhitespaceAsSuffix) {
    throw new NqUnsupportedError(
      `${file}: treat_whitespace_as_suffix = true`,
      'Only whitespace-as-prefix models are supported.',
    );
  }
  if (m.normalizer.precompiledCharsmap.length > 0) {
    throw new NqUnsupportedError(
      `${file}: normalization rule "${m.normalizer.name}" with a precompiled charsmap`,
      'Only the identity normalizer (normalizer_spec.name = "identity", as Llama-2 uses) is supported.',
    );
  }
  if (m.hasDenormalizerRules) {
    throw new NqUnsupportedError(
      `${file}: denormalizer rules`,
      'Only models without a denormalizer are supported.',
    );
  }
  return {
    pieces: m.pieces,
    scores: m.scores,
    types: m.types,
    addDummyPrefix: m.normalizer.addDummyPrefix,
    removeExtraWhitespaces: m.normalizer.removeExtraWhitespaces,
    escapeWhitespaces: m.normalizer.escapeWhitespaces,
    byteFallback: m.trainer.byteFallback,
    unkSurface: m.trainer.unkSurface,
    bosPiece: m.trainer.bosPiece,
    eosPiece: m.trainer.eosPiece,
    padPiece: m.trainer.padPiece,
    source: file,
  };
}
