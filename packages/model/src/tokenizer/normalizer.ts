// SentencePiece's normalizer for the "identity" rule (no precompiled charsmap), as Llama-2 and the
// nq-docs tokenizers use: the text is copied as is, except that
//   - malformed text becomes U+FFFD (in JS: lone surrogates; SentencePiece: invalid UTF-8 bytes),
//   - with remove_extra_whitespaces, leading/trailing spaces go and runs of spaces become one,
//   - with add_dummy_prefix, a non-empty input gets one ▁ in front (so "world" and "hello world"
//     share the piece "▁world"),
//   - with escape_whitespaces, every ' ' (U+0020 only — tabs and newlines stay) becomes ▁.
// SentencePiece's normalizer also matches user-defined pieces as units; with the identity rule that
// changes nothing unless a user-defined piece begins or ends with a space, which we do not support.

import { SPACE_SYMBOL } from './spec.js';

export interface NormalizerOptions {
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
}

const SURROGATE = /[\uD800-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Replaces unpaired UTF-16 surrogates with U+FFFD, as UTF-8 encoding (and SentencePiece) would. */
export function toWellFormed(text: string): string {
  return SURROGATE.test(text) ? text.replace(LONE_SURROGATE, '\uFFFD') : text;
}

/** Normalizes `text` exactly like sentencepiece::normalizer::Normalizer::Normalize (identity rule). */
export function normalizeIdentity(text: string, o: NormalizerOptions): string {
  if (text.length === 0) return '';
  let s = toWellFormed(text);
  if (o.removeExtraWhitespaces) {
    // Drop leading spaces and collapse inner runs to one space.
    s = s.replace(/^ +/, '').replace(/ {2,}/g, ' ');
    if (s.length === 0) return '';
  }
  const space = o.escapeWhitespaces ? SPACE_SYMBOL : ' ';
  if (o.escapeWhitespaces) s = s.replaceAll(' ', SPACE_SYMBOL);
  if (o.addDummyPrefix) s = space + s;
  if (o.removeExtraWhitespaces) {
    // SentencePiece strips trailing whitespace symbols after escaping, so a literal ▁ at the end of
    // the input goes too (and even the dummy prefix, when nothing else is left).
    let end = s.length;
    while (end > 0 && s[end - 1] === space) end--;
    s = s.slice(0, end);
  }
  return s;
}
