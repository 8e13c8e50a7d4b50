// Builds a TokenizerSpec from GGUF metadata (already parsed by a GGUF reader) for the "llama"
// tokenizer model, i.e. SentencePiece BPE as llama.cpp's converter stores it:
//   tokenizer.ggml.model            "llama"
//   tokenizer.ggml.tokens           string[]   piece text (with ▁)
//   tokenizer.ggml.scores           float32[]
//   tokenizer.ggml.token_type       int32[]    SentencePiece's piece types (1 normal … 6 byte)
//   tokenizer.ggml.bos_token_id / eos_token_id / unknown_token_id / padding_token_id   uint32
//   tokenizer.ggml.add_bos_token / add_eos_token                                      bool
//   tokenizer.ggml.add_space_prefix (default true), tokenizer.ggml.remove_extra_whitespaces (default false)
// Numbers may arrive as number or bigint, arrays as JS arrays or typed arrays, and a value may be
// wrapped as { value } by some readers; all are accepted.

import { NqFormatError, NqUnsupportedError } from '@nq/core';
import { DEFAULT_UNK_SURFACE, PieceType, type TokenizerSpec } from './spec.js';

const KEY = 'tokenizer.ggml.';

function unwrap(v: unknown): unknown {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v) && 'value' in v) {
    return (v as { value: unknown }).value;
  }
  return v;
}

function asArray(v: unknown): unknown[] | undefined {
  if (Array.isArray(v)) return v;
  if (ArrayBuffer.isView(v) && !(v instanceof DataView))
    return Array.from(v as unknown as ArrayLike<unknown>);
  return undefined;
}

function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

export interface GgufTokenizerInfo {
  spec: TokenizerSpec;
  /** tokenizer.ggml.add_bos_token (llama.cpp's default for SentencePiece models: true). */
  addBos: boolean;
  /** tokenizer.ggml.add_eos_token (default false). */
  addEos: boolean;
}

export function specFromGgufMetadata(
  meta: Record<string, unknown>,
  file = 'GGUF metadata',
): GgufTokenizerInfo {
  if (meta === null || typeof meta !== 'object') throw new NqFormatError(file, 'metadata is not an object');
  const get = (k: string): unknown => unwrap(meta[KEY + k]);
  const fail = (problem: string): never => {
    throw new NqFormatError(file, problem);
  };

  const model = get('model');
  if (model === undefined) fail(`no ${KEY}model key (the file carries no tokenizer)`);
  if (model !== 'llama') {
    throw new NqUnsupportedError(
      `${file}: tokenizer model ${JSON.stringify(model)}`,
      'Only "llama" (SentencePiece BPE) tokenizers are supported.',
    );
  }

  const tokens = asArray(get('tokens')) ?? fail(`${KEY}tokens is missing or not an array`);
  const n = tokens.length;
  if (n === 0) fail(`${KEY}tokens is empty`);
  const pieces: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const t = tokens[i];
    if (typeof t !== 'string' || t.length === 0) fail(`${KEY}tokens[${i}] is not a non-empty string`);
    pieces[i] = t as string;
  }

  const scores = new Float32Array(n);
  const rawScores = get('scores');
  if (rawScores !== undefined) {
    const s = asArray(rawScores) ?? fail(`${KEY}scores is not an array`);
    if (s.length !== n) fail(`${KEY}scores has ${s.length} entries for ${n} tokens`);
    for (let i = 0; i < n; i++) {
      const v = asNumber(s[i]);
      if (v === undefined || !Number.isFinite(v)) fail(`${KEY}scores[${i}] is not a finite number`);
      scores[i] = v as number;
    }
  }

  const types = new Uint8Array(n).fill(PieceType.Normal);
  const rawTypes = get('token_type');
  if (rawTypes !== undefined) {
    const t = asArray(rawTypes) ?? fail(`${KEY}token_type is not an array`);
    if (t.length !== n) fail(`${KEY}token_type has ${t.length} entries for ${n} tokens`);
    for (let i = 0; i < n; i++) {
      const v = asNumber(t[i]);
      if (v === undefined || !Number.isInteger(v) || v < PieceType.Normal || v > PieceType.Byte) {
        fail(`${KEY}token_type[${i}] is ${String(t[i])}, expected 1..6`);
      }
      types[i] = v as number;
    }
  }

  const idKey = (k: string): number | undefined => {
    const raw = get(k);
    if (raw === undefined) return undefined;
    const v = asNumber(raw);
    if (v === undefined || !Number.isInteger(v) || v < 0 || v >= n)
      fail(`${KEY}${k} is ${String(raw)}, expected an id in 0..${n - 1}`);
    return v;
  };
  const bosId = idKey('bos_token_id');
  const eosId = idKey('eos_token_id');
  const unkId = idKey('unknown_token_id');
  const padId = idKey('padding_token_id');
  // Without token types (older converters), mark the ids the header names.
  if (rawTypes === undefined) {
    if (unkId !== undefined) types[unkId] = PieceType.Unknown;
    if (bosId !== undefined) types[bosId] = PieceType.Control;
    if (eosId !== undefined) types[eosId] = PieceType.Control;
    for (let i = 0; i < n; i++) if (/^<0x[0-9A-F]{2}>$/.test(pieces[i] as string)) types[i] = PieceType.Byte;
  }

  const bool = (k: string, dflt: boolean): boolean => {
    const v = get(k);
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') fail(`${KEY}${k} is ${String(v)}, expected a boolean`);
    return v as boolean;
  };

  const charsmap = asArray(get('precompiled_charsmap'));
  if (charsmap !== undefined && charsmap.length > 0) {
    throw new NqUnsupportedError(
      `${file}: a precompiled normalization charsmap`,
      'Only the identity normalizer is supported.',
    );
  }

  let byteCount = 0;
  for (let i = 0; i < n; i++) if (types[i] === PieceType.Byte) byteCount++;
  return {
    spec: {
      pieces,
      scores,
      types,
      addDummyPrefix: bool('add_space_prefix', true),
      removeExtraWhitespaces: bool('remove_extra_whitespaces', false),
      escapeWhitespaces: true,
      // llama.cpp falls back to bytes whenever the vocabulary has them.
      byteFallback: byteCount === 256,
      unkSurface: DEFAULT_UNK_SURFACE,
      bosPiece: bosId !== undefined ? (pieces[bosId] as string) : '<s>',
      eosPiece: eosId !== undefined ? (pieces[eosId] as string) : '</s>',
      padPiece: padId !== undefined ? (pieces[padId] as string) : '<pad>',
      bosId,
      eosId,
      padId,
      source: file,
    },
    addBos: bool('add_bos_token', true),
    addEos: bool('add_eos_token', false),
  };
}
