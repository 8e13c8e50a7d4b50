import { Rng } from '@nq/core';

/** Synthetic "documents" of letters and spaces, separated like ../shared/data/docs-*.txt. */
export function syntheticDocs(seed: number, docs: number, chars: number): string {
  const rng = new Rng(seed);
  const alphabet = 'abcdefghijklmnopqrstuvwxyz     ';
  const out: string[] = [];
  for (let d = 0; d < docs; d++)
    out.push(Array.from({ length: chars }, () => alphabet[rng.int(alphabet.length)]).join(''));
  return out.join('\n\x1e\n');
}

/** A toy tokenizer for random models: one token per character, ids modulo the vocabulary. */
export const charEncoder = (vocab: number) => (s: string) => Array.from(s, (c) => c.charCodeAt(0) % vocab);
