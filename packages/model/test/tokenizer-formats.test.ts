// Tokenizer semantics on tiny hand-made vocabularies (expected ids worked out by hand from
// SentencePiece's algorithm, see each comment), and typed errors for bad files and bad input.
import { existsSync, readFileSync } from 'node:fs';
import { NqFormatError, NqInputError, NqUnsupportedError, Rng } from '@nq/core';
import { sharedModelFiles } from '@nq/core/testing';
import { describe, expect, it } from 'vitest';
import { PieceType, Tokenizer, type TokenizerSpec } from '../src/tokenizer/index.js';

// ---------------------------------------------------------------------------------------------
// A tiny protobuf writer (independent of the reader under test) to build .model files.
// ---------------------------------------------------------------------------------------------
function varint(v: number | bigint): number[] {
  let n = BigInt.asUintN(64, BigInt(v)); // negative int32 → 10-byte two's complement, as protobuf does
  const out: number[] = [];
  while (n >= 0x80n) {
    out.push(Number(n & 0x7fn) | 0x80);
    n >>= 7n;
  }
  out.push(Number(n));
  return out;
}
const key = (field: number, wireType: number) => varint(field * 8 + wireType);
const lenField = (field: number, body: number[]) => [...key(field, 2), ...varint(body.length), ...body];
const strField = (field: number, s: string) => lenField(field, [...new TextEncoder().encode(s)]);
const intField = (field: number, v: number) => [...key(field, 0), ...varint(v)];
function floatField(field: number, x: number): number[] {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, x, true);
  return [...key(field, 5), ...b];
}

type PieceDef = [piece: string, score: number, type?: number];

interface ModelDef {
  pieces: PieceDef[];
  modelType?: number;
  byteFallback?: boolean;
  addDummyPrefix?: boolean;
  removeExtraWhitespaces?: boolean;
  charsmap?: number[];
}

function modelProto(def: ModelDef): Uint8Array {
  const out: number[] = [];
  for (const [p, score, type] of def.pieces) {
    const body = [...strField(1, p), ...floatField(2, score)];
    if (type !== undefined) body.push(...intField(3, type));
    out.push(...lenField(1, body));
  }
  const trainer = [
    ...intField(3, def.modelType ?? 2),
    ...intField(4, def.pieces.length),
    ...intField(43, -1), // pad_id = -1: a 10-byte varint the reader must skip
    ...(def.byteFallback ? intField(35, 1) : []),
    ...strField(2, 'model-prefix-ignored'),
  ];
  out.push(...lenField(2, trainer));
  const normalizer = [
    ...strField(1, def.charsmap ? 'nmt_nfkc' : 'identity'),
    ...(def.charsmap ? lenField(2, def.charsmap) : []),
    ...intField(3, def.addDummyPrefix === false ? 0 : 1),
    ...intField(4, def.removeExtraWhitespaces ? 1 : 0),
  ];
  out.push(...lenField(3, normalizer));
  return Uint8Array.from(out);
}

const SPECIALS: PieceDef[] = [
  ['<unk>', 0, PieceType.Unknown],
  ['<s>', 0, PieceType.Control],
  ['</s>', 0, PieceType.Control],
];

/** Builds the tokenizer both from a .model written here and from the spec directly; both must agree. */
function build(def: ModelDef): Tokenizer {
  return Tokenizer.fromSentencePieceModel(modelProto(def), { file: 'test.model' });
}

function ids(tok: Tokenizer, pieces: string[]): number[] {
  return pieces.map((p) => {
    const id = tok.pieceToId(p);
    expect(tok.idToPiece(id), `piece ${p} exists`).toBe(p);
    return id;
  });
}

describe('BPE semantics on hand-made vocabularies', () => {
  it('merges the highest-scoring pair first, and the leftmost of equal-scoring pairs', () => {
    // "aba" → ▁ a b a. Pairs ab (left 1) and ba (left 2).
    const tie = build({ pieces: [...SPECIALS, ['▁', -5], ['a', -5], ['b', -5], ['ab', -1], ['ba', -1]] });
    expect(Array.from(tie.encode('aba'))).toEqual(ids(tie, ['▁', 'ab', 'a'])); // tie → leftmost
    const baFirst = build({ pieces: [...SPECIALS, ['▁', -5], ['a', -5], ['b', -5], ['ab', -2], ['ba', -1]] });
    expect(Array.from(baFirst.encode('aba'))).toEqual(ids(baFirst, ['▁', 'a', 'ba']));
  });

  it('keeps merging into longer pieces only through pieces in the vocabulary', () => {
    // ▁ a b c: ▁a (-1) merges, then ▁ab (-2) needs "▁a"+"b"; "abc" unreachable because "bc" is absent.
    const tok = build({
      pieces: [...SPECIALS, ['▁', -9], ['a', -9], ['b', -9], ['c', -9], ['▁a', -1], ['▁ab', -2], ['abc', 0]],
    });
    expect(Array.from(tok.encode('abc'))).toEqual(ids(tok, ['▁ab', 'c']));
  });

  it('never merges a user-defined piece with its neighbours', () => {
    // ▁ a [bc] — "bc" is matched as one frozen symbol, so "abc" (best score) can never form.
    const tok = build({
      pieces: [
        ...SPECIALS,
        ['▁', -9],
        ['a', -9],
        ['b', -9],
        ['c', -9],
        ['▁a', -1],
        ['abc', 0],
        ['bc', 0, PieceType.UserDefined],
      ],
    });
    expect(Array.from(tok.encode('abc'))).toEqual(ids(tok, ['▁a', 'bc']));
    expect(tok.decode(tok.encode('abc'))).toBe('abc');
  });

  it('splits a merged UNUSED piece back into the symbols it was made from', () => {
    // "ab" (UNUSED, best score) merges first, then is resegmented into a, b — not re-merged as ▁a b.
    const tok = build({
      pieces: [...SPECIALS, ['▁', -9], ['a', -9], ['b', -9], ['▁a', -1], ['ab', 0, PieceType.Unused]],
    });
    expect(Array.from(tok.encode('ab'))).toEqual(ids(tok, ['▁', 'a', 'b']));
  });

  it('does not cut at spaces when a piece spans one (x▁ pieces)', () => {
    // ▁ a ▁ b: "a▁" (0) beats "▁a" (-1) and "▁b" (-2); cutting before each ▁ would give ▁a ▁b.
    const tok = build({
      pieces: [...SPECIALS, ['▁', -9], ['a', -9], ['b', -9], ['▁a', -1], ['▁b', -2], ['a▁', 0]],
    });
    expect(Array.from(tok.encode('a b'))).toEqual(ids(tok, ['▁', 'a▁', 'b']));
  });

  it('without byte fallback, maps unknown characters to <unk> and collapses runs of them', () => {
    const tok = build({ pieces: [...SPECIALS, ['▁', -9], ['a', -9], ['b', -9], ['▁a', -1]] });
    const unk = tok.unkId;
    expect(Array.from(tok.encode('a☃☃ b'))).toEqual([
      tok.pieceToId('▁a'),
      unk,
      tok.pieceToId('▁'),
      tok.pieceToId('b'),
    ]);
    expect(tok.decode(tok.encode('a☃☃ b'))).toBe('a ⁇  b');
    // Without a ▁ piece the whole text is unknown; the run spans our internal chunk boundary.
    const noSpace = build({ pieces: [...SPECIALS, ['a', -9]] });
    expect(Array.from(noSpace.encode('☃ ☃'))).toEqual([noSpace.unkId]);
    expect(Array.from(noSpace.encode('☃ ☃ 🙂'))).toEqual([noSpace.unkId]);
  });

  it('with byte fallback, writes unknown characters as their UTF-8 bytes', () => {
    const bytes: PieceDef[] = Array.from({ length: 256 }, (_, b) => [
      `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`,
      0,
      PieceType.Byte,
    ]);
    const tok = build({ pieces: [...SPECIALS, ...bytes, ['▁', -9], ['a', -9]], byteFallback: true });
    const byte = (b: number) => 3 + b;
    // é = C3 A9, 🙂 = F0 9F 99 82
    expect(Array.from(tok.encode('aé🙂'))).toEqual([
      tok.pieceToId('▁'),
      tok.pieceToId('a'),
      byte(0xc3),
      byte(0xa9),
      byte(0xf0),
      byte(0x9f),
      byte(0x99),
      byte(0x82),
    ]);
    expect(tok.decode(tok.encode('aé🙂'))).toBe('aé🙂');
    // A lone surrogate is malformed text: SentencePiece sees U+FFFD (EF BF BD).
    expect(Array.from(tok.encode('\uD800'))).toEqual([
      tok.pieceToId('▁'),
      byte(0xef),
      byte(0xbf),
      byte(0xbd),
    ]);
    // Structurally invalid byte runs decode to one U+FFFD per bad byte, like SentencePiece.
    expect(tok.decode([byte(0xe3), byte(0x81)])).toBe('\uFFFD\uFFFD');
    expect(tok.decode([byte(0xe3), byte(0x81), byte(0xae), byte(0xff)])).toBe('の\uFFFD');
  });

  it('applies remove_extra_whitespaces and add_dummy_prefix = false', () => {
    const pieces: PieceDef[] = [...SPECIALS, ['▁', -9], ['a', -9], ['b', -9], ['▁a', -1], ['▁b', -2]];
    const squeeze = build({ pieces, removeExtraWhitespaces: true });
    expect(Array.from(squeeze.encode('   a    b   '))).toEqual(ids(squeeze, ['▁a', '▁b']));
    expect(Array.from(squeeze.encode('    '))).toEqual([]);
    expect(squeeze.decode(squeeze.encode('   a    b   '))).toBe('a b');
    const noPrefix = build({ pieces, addDummyPrefix: false });
    expect(Array.from(noPrefix.encode('a b'))).toEqual(ids(noPrefix, ['a', '▁b']));
    expect(noPrefix.decode(noPrefix.encode(' a b'))).toBe(' a b');
  });

  it('gives the same ids built from a spec object as from the .model bytes', () => {
    const def: ModelDef = { pieces: [...SPECIALS, ['▁', -9], ['a', -9], ['b', -9], ['▁a', -1], ['ab', -2]] };
    const spec: TokenizerSpec = {
      pieces: def.pieces.map((p) => p[0]),
      scores: Float32Array.from(def.pieces.map((p) => p[1])),
      types: Uint8Array.from(def.pieces.map((p) => p[2] ?? PieceType.Normal)),
      addDummyPrefix: true,
      removeExtraWhitespaces: false,
      escapeWhitespaces: true,
      byteFallback: false,
      unkSurface: ' ⁇ ',
      bosPiece: '<s>',
      eosPiece: '</s>',
      padPiece: '<pad>',
      source: 'spec',
    };
    const text = 'ab a bab  aab';
    expect(Array.from(new Tokenizer(spec).encode(text))).toEqual(Array.from(build(def).encode(text)));
  });
});

// ---------------------------------------------------------------------------------------------
// Typed errors
// ---------------------------------------------------------------------------------------------
const { tokenizer: tok4096Path, tokenizerBin: tok4096BinPath } = sharedModelFiles('nq-docs-5M');
const basic: ModelDef = { pieces: [...SPECIALS, ['▁', -9], ['a', -9]] };

describe('bad .model files → typed errors', () => {
  it('rejects empty, garbage and structurally broken protobufs with NqFormatError', () => {
    expect(() => Tokenizer.fromSentencePieceModel(new Uint8Array(0))).toThrow(NqFormatError);
    const good = modelProto(basic);
    // A length prefix far larger than the file.
    const hostile = Uint8Array.from([...key(1, 2), ...varint(1_000_000_000), 1, 2, 3]);
    expect(() => Tokenizer.fromSentencePieceModel(hostile)).toThrow(/exceeds/);
    // Score written as a varint instead of a float.
    const wrongWire = Uint8Array.from([...lenField(1, [...strField(1, 'x'), ...intField(2, 3)]), ...good]);
    expect(() => Tokenizer.fromSentencePieceModel(wrongWire)).toThrow(/wire type/);
    // An 11-byte varint.
    const longVarint = Uint8Array.from([
      ...key(4, 0),
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0x01,
    ]);
    expect(() => Tokenizer.fromSentencePieceModel(longVarint)).toThrow(NqFormatError);
    // Field number 0 / wire type 7.
    expect(() => Tokenizer.fromSentencePieceModel(Uint8Array.from([0x00, 0x01]))).toThrow(NqFormatError);
    expect(() => Tokenizer.fromSentencePieceModel(Uint8Array.from([0x0f, 0x01]))).toThrow(NqFormatError);
  });

  it('rejects every truncation of a real .model file with NqFormatError', () => {
    const full = existsSync(tok4096Path) ? new Uint8Array(readFileSync(tok4096Path)) : modelProto(basic);
    expect(() => Tokenizer.fromSentencePieceModel(full)).not.toThrow();
    const rng = new Rng(7);
    const cuts = [1, 2, 5, 100, full.length - 1, full.length - 2, full.length - 30];
    for (let i = 0; i < 120; i++) cuts.push(1 + rng.int(full.length - 1));
    for (const cut of cuts) {
      expect(() => Tokenizer.fromSentencePieceModel(full.subarray(0, cut)), `cut at ${cut}`).toThrow(
        NqFormatError,
      );
    }
  });

  it('rejects inconsistent vocabularies with NqFormatError', () => {
    const dup = modelProto({ pieces: [...SPECIALS, ['a', 0], ['a', -1]] });
    expect(() => Tokenizer.fromSentencePieceModel(dup)).toThrow(/defined twice/);
    const noUnk = modelProto({
      pieces: [
        ['<s>', 0, PieceType.Control],
        ['a', 0],
      ],
    });
    expect(() => Tokenizer.fromSentencePieceModel(noUnk)).toThrow(/unknown piece/);
    const missingBytes = modelProto({
      pieces: [...SPECIALS, ['<0x00>', 0, PieceType.Byte], ['a', 0]],
      byteFallback: true,
    });
    expect(() => Tokenizer.fromSentencePieceModel(missingBytes)).toThrow(/256/);
    const badType = modelProto({ pieces: [...SPECIALS, ['a', 0, 9]] });
    expect(() => Tokenizer.fromSentencePieceModel(badType)).toThrow(/unknown type 9/);
    const badByte = modelProto({ pieces: [...SPECIALS, ['<0xZZ>', 0, PieceType.Byte]] });
    expect(() => Tokenizer.fromSentencePieceModel(badByte)).toThrow(NqFormatError);
    const emptyPiece = modelProto({ pieces: [...SPECIALS, ['', 0]] });
    expect(() => Tokenizer.fromSentencePieceModel(emptyPiece)).toThrow(NqFormatError);
  });

  it('rejects what it cannot reproduce exactly with NqUnsupportedError', () => {
    expect(() => Tokenizer.fromSentencePieceModel(modelProto({ ...basic, modelType: 1 }))).toThrow(
      NqUnsupportedError,
    );
    expect(() => Tokenizer.fromSentencePieceModel(modelProto({ ...basic, modelType: 1 }))).toThrow(/UNIGRAM/);
    expect(() =>
      Tokenizer.fromSentencePieceModel(modelProto({ ...basic, charsmap: [4, 0, 0, 0, 1, 2, 3, 4, 0] })),
    ).toThrow(NqUnsupportedError);
  });
});

describe('bad llama2.c tokenizer.bin files → typed errors', () => {
  function bin(maxLen: number, tokens: [number, number[]][]): Uint8Array {
    const parts: number[] = [];
    const i32 = (v: number) => {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setInt32(0, v, true);
      parts.push(...b);
    };
    i32(maxLen);
    for (const [score, bytes] of tokens) {
      const f = new Uint8Array(4);
      new DataView(f.buffer).setFloat32(0, score, true);
      parts.push(...f);
      i32(bytes.length);
      parts.push(...bytes);
    }
    return Uint8Array.from(parts);
  }
  const enc = (s: string) => [...new TextEncoder().encode(s)];
  const good: [number, number[]][] = [
    [0, enc('<unk>')],
    [0, enc('\n<s>\n')],
    [0, enc('\n</s>\n')],
    [-1, enc(' a')],
    [-2, enc('a')],
    [-3, enc(' ')],
  ];

  it('reads a hand-made file: BOS/EOS, ▁ written as a space', () => {
    const tok = Tokenizer.fromLlama2cBin(bin(6, good));
    expect(tok.vocabSize).toBe(6);
    expect([tok.unkId, tok.bosId, tok.eosId]).toEqual([0, 1, 2]);
    expect(tok.idToPiece(3)).toBe('▁a');
    expect(Array.from(tok.encode('a a', { bos: true }))).toEqual([1, 3, 3]);
  });

  it('rejects short, truncated, inconsistent and absurd files with NqFormatError', () => {
    expect(() => Tokenizer.fromLlama2cBin(new Uint8Array(2))).toThrow(NqFormatError);
    expect(() => Tokenizer.fromLlama2cBin(bin(6, []))).toThrow(/no tokens/);
    expect(() => Tokenizer.fromLlama2cBin(bin(0, good))).toThrow(/max_token_length/);
    expect(() => Tokenizer.fromLlama2cBin(bin(2_000_000_000, good))).toThrow(/max_token_length/);
    expect(() => Tokenizer.fromLlama2cBin(bin(3, good))).toThrow(/outside 1..max_token_length/);
    const full = bin(6, good);
    expect(() => Tokenizer.fromLlama2cBin(full.subarray(0, full.length - 1))).toThrow(/run past the end/);
    expect(() => Tokenizer.fromLlama2cBin(full.subarray(0, 4 + 5))).toThrow(/truncated record/);
    // Negative length.
    const neg = full.slice();
    new DataView(neg.buffer).setInt32(8, -5, true);
    expect(() => Tokenizer.fromLlama2cBin(neg)).toThrow(NqFormatError);
    // NaN score.
    const nan = full.slice();
    new DataView(nan.buffer).setFloat32(4, Number.NaN, true);
    expect(() => Tokenizer.fromLlama2cBin(nan)).toThrow(/score/);
    // vocab_size must match exactly when given.
    expect(() => Tokenizer.fromLlama2cBin(full, { vocabSize: 7 })).toThrow(/expected vocab_size 7/);
    expect(() => Tokenizer.fromLlama2cBin(full, { vocabSize: 5 })).toThrow(/left over/);
    expect(() => Tokenizer.fromLlama2cBin(full, { vocabSize: 0 })).toThrow(NqInputError);
  });

  it.skipIf(!existsSync(tok4096BinPath))(
    'rejects every truncation of the real tok4096.bin when vocab_size is known',
    () => {
      const full = new Uint8Array(readFileSync(tok4096BinPath));
      expect(Tokenizer.fromLlama2cBin(full, { vocabSize: 4096 }).vocabSize).toBe(4096);
      const rng = new Rng(11);
      for (let i = 0; i < 60; i++) {
        const cut = rng.int(full.length);
        expect(
          () => Tokenizer.fromLlama2cBin(full.subarray(0, cut), { vocabSize: 4096 }),
          `cut at ${cut}`,
        ).toThrow(NqFormatError);
      }
    },
  );
});

describe('GGUF metadata → tokenizer', () => {
  const base = (): Record<string, unknown> => ({
    'tokenizer.ggml.model': 'llama',
    'tokenizer.ggml.tokens': ['<unk>', '<s>', '</s>', '▁', 'a', '▁a'],
    'tokenizer.ggml.scores': [0, 0, 0, -9, -9, -1],
    'tokenizer.ggml.token_type': [2, 3, 3, 1, 1, 1],
    'tokenizer.ggml.bos_token_id': 1,
    'tokenizer.ggml.eos_token_id': 2,
    'tokenizer.ggml.unknown_token_id': 0,
    'tokenizer.ggml.add_bos_token': true,
    'tokenizer.ggml.add_eos_token': false,
  });

  it('accepts plain arrays, typed arrays, bigint ids and { value } wrappers alike', () => {
    const plain = Tokenizer.fromGgufMetadata(base());
    expect(Array.from(plain.encode('a a'))).toEqual([5, 5]);
    const m = base();
    m['tokenizer.ggml.scores'] = Float32Array.from([0, 0, 0, -9, -9, -1]);
    m['tokenizer.ggml.token_type'] = Int32Array.from([2, 3, 3, 1, 1, 1]);
    m['tokenizer.ggml.bos_token_id'] = 1n;
    m['tokenizer.ggml.eos_token_id'] = { type: 'uint32', value: 2 };
    const other = Tokenizer.fromGgufMetadata(m);
    expect(Array.from(other.encode('a a', { bos: true, eos: true }))).toEqual([1, 5, 5, 2]);
  });

  it('honours add_space_prefix = false', () => {
    const m = { ...base(), 'tokenizer.ggml.add_space_prefix': false };
    expect(Array.from(Tokenizer.fromGgufMetadata(m).encode('a a'))).toEqual([4, 5]);
  });

  it('rejects missing or inconsistent entries with NqFormatError, other tokenizer kinds with NqUnsupportedError', () => {
    const bad = (patch: Record<string, unknown>) => () => Tokenizer.fromGgufMetadata({ ...base(), ...patch });
    expect(bad({ 'tokenizer.ggml.model': undefined })).toThrow(NqFormatError);
    expect(bad({ 'tokenizer.ggml.model': 'gpt2' })).toThrow(NqUnsupportedError);
    expect(bad({ 'tokenizer.ggml.tokens': 'abc' })).toThrow(/tokens/);
    expect(bad({ 'tokenizer.ggml.tokens': [] })).toThrow(/empty/);
    expect(bad({ 'tokenizer.ggml.tokens': ['<unk>', 3] })).toThrow(/tokens\[1\]/);
    expect(bad({ 'tokenizer.ggml.scores': [0, 0] })).toThrow(/scores has 2 entries/);
    expect(bad({ 'tokenizer.ggml.scores': [0, 0, 0, 0, 0, Number.NaN] })).toThrow(/scores\[5\]/);
    expect(bad({ 'tokenizer.ggml.token_type': [2, 3, 3, 1, 1, 42] })).toThrow(/token_type\[5\]/);
    expect(bad({ 'tokenizer.ggml.bos_token_id': 99 })).toThrow(/bos_token_id/);
    expect(bad({ 'tokenizer.ggml.add_bos_token': 'yes' })).toThrow(/add_bos_token/);
    expect(bad({ 'tokenizer.ggml.token_type': [1, 3, 3, 1, 1, 1] })).toThrow(/unknown piece/);
    expect(bad({ 'tokenizer.ggml.precompiled_charsmap': [1, 2, 3] })).toThrow(NqUnsupportedError);
  });
});

describe('bad arguments → NqInputError', () => {
  const tok = build(basic);
  it('names the argument', () => {
    expect(() => tok.encode(42 as unknown as string)).toThrow(NqInputError);
    expect(() => tok.decode([0, -1])).toThrow(/ids\[1\]/);
    expect(() => tok.decode([tok.vocabSize])).toThrow(NqInputError);
    expect(() => tok.decode([1.5])).toThrow(NqInputError);
    expect(() => tok.idToPiece(-1)).toThrow(NqInputError);
    expect(() => tok.score(1e9)).toThrow(NqInputError);
    const noBos = build({
      pieces: [
        ['<unk>', 0, PieceType.Unknown],
        ['a', 0],
      ],
    });
    expect(noBos.bosId).toBe(-1);
    expect(() => noBos.encode('a', { bos: true })).toThrow(/options.bos/);
    expect(() => noBos.encode('a', { eos: true })).toThrow(/options.eos/);
  });
});
