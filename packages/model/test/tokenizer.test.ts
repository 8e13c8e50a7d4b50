// The tokenizer against SentencePiece's own output (the shipped reference encodings), and against an
// independent, deliberately naive BPE written from the definition in this file.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Rng } from '@nq/core';
import { sharedPath } from '@nq/core/testing';
import { describe, expect, it } from 'vitest';
import { openGguf } from '../src/gguf/index.js';
import { PieceType, Tokenizer } from '../src/tokenizer/index.js';
import { readGgufMetadata, readNpyInts } from '../src/tokenizer/test-helpers.js';

const models = sharedPath('models');
const data = sharedPath('data');
const file = (...p: string[]) => path.join(models, ...p);
const read = (p: string) => new Uint8Array(readFileSync(p));

interface Case {
  text: string;
  ids: number[];
  pieces: string[];
  decoded: string;
}

interface RefSet {
  name: string;
  dir: string;
  model: string;
  bin: string;
  gguf?: string;
  cases: string;
  /** [ids .npy, text file] pairs: the whole text file encoded by SentencePiece, no BOS. */
  wholeFiles: [string, string][];
}

const refSets: RefSet[] = [
  {
    name: 'tok4096 (nq-docs-5M)',
    dir: 'nq-docs-5M',
    model: 'tok4096.model',
    bin: 'tok4096.bin',
    gguf: 'nq-docs-5M.f32.gguf',
    cases: 'tok4096.cases.json',
    wholeFiles: [
      ['tok4096.docs-valid.ids.npy', 'docs-valid.txt'],
      ['tok4096.wikitext2-test.ids.npy', 'wikitext2-test.txt'],
    ],
  },
  {
    name: 'Llama-2 32000',
    dir: 'llama2-tokenizer',
    model: 'tokenizer.model',
    bin: 'tokenizer.bin',
    cases: 'cases.json',
    wholeFiles: [['wikitext2-test.ids.npy', 'wikitext2-test.txt']],
  },
];

/** First index where two id sequences differ, or -1 (a readable failure instead of a 500k-element diff). */
function firstMismatch(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return -1;
}

for (const ref of refSets) {
  const dir = file(ref.dir);
  const have = existsSync(path.join(dir, ref.model)) && existsSync(path.join(dir, ref.cases));
  describe.skipIf(!have)(
    `${ref.name}: SentencePiece reference encodings${have ? '' : ' (skipped: ../shared/models missing)'}`,
    () => {
      const loaders: [string, () => Tokenizer][] = [
        [
          '.model',
          () => Tokenizer.fromSentencePieceModel(read(path.join(dir, ref.model)), { file: ref.model }),
        ],
        ['llama2.c .bin', () => Tokenizer.fromLlama2cBin(read(path.join(dir, ref.bin)), { file: ref.bin })],
      ];
      if (ref.gguf !== undefined) {
        const g = path.join(dir, ref.gguf);
        loaders.push([
          'GGUF metadata (reader in this test)',
          () => Tokenizer.fromGgufMetadata(readGgufMetadata(read(g)), { file: ref.gguf }),
        ]);
        // The same file through @nq/model's own GGUF reader (typed arrays for numeric arrays).
        loaders.push([
          'GGUF metadata (@nq/model openGguf)',
          () => {
            const f = openGguf(g);
            try {
              return Tokenizer.fromGgufMetadata(f.metadata, { file: ref.gguf });
            } finally {
              f.close();
            }
          },
        ]);
      }
      const cases = (JSON.parse(readFileSync(path.join(dir, ref.cases), 'utf8')) as { cases: Case[] }).cases;

      for (const [format, load] of loaders) {
        describe(`from ${format}`, () => {
          const tok = load();

          it('has the reference special ids', () => {
            expect(tok.unkId).toBe(0);
            expect(tok.bosId).toBe(1);
            expect(tok.eosId).toBe(2);
          });

          it(`encodes all ${cases.length} reference strings to SentencePiece's ids and pieces`, () => {
            expect(cases.length).toBeGreaterThan(10);
            for (const c of cases) {
              expect(Array.from(tok.encode(c.text)), JSON.stringify(c.text)).toEqual(c.ids);
              expect(tok.encodeAsPieces(c.text), JSON.stringify(c.text)).toEqual(c.pieces);
            }
          });

          it("decodes the reference ids to SentencePiece's text, and round-trips every string", () => {
            for (const c of cases) {
              expect(tok.decode(c.ids), JSON.stringify(c.text)).toBe(c.decoded);
              expect(tok.decode(tok.encode(c.text)), JSON.stringify(c.text)).toBe(c.text);
            }
          });

          it('adds BOS/EOS only when asked', () => {
            const c = cases[0] as Case;
            expect(Array.from(tok.encode(c.text, { bos: true }))).toEqual([1, ...c.ids]);
            expect(Array.from(tok.encode(c.text, { bos: true, eos: true }))).toEqual([1, ...c.ids, 2]);
            expect(Array.from(tok.encode(c.text, { eos: true }))).toEqual([...c.ids, 2]);
            // Control pieces print nothing, and do not stop the dummy-prefix ▁ from being dropped.
            expect(tok.decode([1, ...c.ids, 2])).toBe(c.decoded);
            expect(Array.from(tok.encode(''))).toEqual([]);
            expect(Array.from(tok.encode('', { bos: true }))).toEqual([1]);
          });
        });
      }

      // The whole-file checks use the .model and .bin loaders (the GGUF loader shares the same engine and
      // is checked on the cases above and on one file below).
      for (const [npy, txt] of ref.wholeFiles) {
        const npyPath = path.join(dir, npy);
        const txtPath = path.join(data, txt);
        const present = existsSync(npyPath) && existsSync(txtPath);
        it.skipIf(!present)(
          `encodes the whole ${txt} exactly as SentencePiece (${npy}), and decodes it back`,
          () => {
            const expected = readNpyInts(read(npyPath));
            const text = readFileSync(txtPath, 'utf8');
            const fromModel = loaders[0]?.[1]() as Tokenizer;
            const fromBin = loaders[1]?.[1]() as Tokenizer;
            const t0 = performance.now();
            const ids = fromModel.encode(text);
            const ms = performance.now() - t0;
            const mb = Buffer.byteLength(text) / 1e6;
            console.log(
              `[tokenizer] ${ref.name}: ${txt} (${mb.toFixed(2)} MB) → ${ids.length} ids in ${ms.toFixed(0)} ms (cold cache) = ${(mb / (ms / 1000)).toFixed(1)} MB/s`,
            );
            expect(ids.length).toBe(expected.length);
            expect(firstMismatch(ids, expected)).toBe(-1);
            expect(firstMismatch(fromBin.encode(text), expected)).toBe(-1);
            expect(fromModel.decode(expected)).toBe(text);
          },
        );
      }

      it('Tokenizer.fromFile picks the format from the file name', async () => {
        const c = cases[0] as Case;
        for (const f of [ref.model, ref.bin]) {
          const tok = await Tokenizer.fromFile(path.join(dir, f));
          expect(Array.from(tok.encode(c.text)), f).toEqual(c.ids);
        }
      });

      if (ref.gguf !== undefined) {
        const [npy, txt] = ref.wholeFiles[0] as [string, string];
        const g = path.join(dir, ref.gguf);
        it.skipIf(!existsSync(g))(`GGUF-metadata tokenizer encodes the whole ${txt} exactly too`, () => {
          const tok = Tokenizer.fromGgufMetadata(readGgufMetadata(read(g)));
          expect(tok.addBosByDefault).toBe(true);
          const expected = readNpyInts(read(path.join(dir, npy)));
          expect(firstMismatch(tok.encode(readFileSync(path.join(data, txt), 'utf8')), expected)).toBe(-1);
        });
      }
    },
  );
}

const refJson = file('nq-docs-5M', 'nq-docs-5M.ref.json');
describe.skipIf(!existsSync(refJson))('nq-docs-5M reference prompt and greedy text', () => {
  it('reproduces the prompt ids of the reference logits and the greedy continuation text', () => {
    const ref = JSON.parse(readFileSync(refJson, 'utf8')) as {
      greedy: { prompt: string; ids: number[]; text: string };
      ref_logits: { prompt_ids: number[] };
    };
    const tok = Tokenizer.fromSentencePieceModel(read(file('nq-docs-5M', 'tok4096.model')));
    const prompt = Array.from(tok.encode(ref.greedy.prompt, { bos: true }));
    expect(ref.greedy.ids.slice(0, prompt.length)).toEqual(prompt);
    expect(tok.decode(ref.greedy.ids)).toBe(ref.greedy.text);
    // BOS + the first 63 tokens of docs-valid.txt (encoded whole).
    const docs = readFileSync(path.join(data, 'docs-valid.txt'), 'utf8');
    const n = ref.ref_logits.prompt_ids.length;
    expect(Array.from(tok.encode(docs, { bos: true }).subarray(0, n))).toEqual(ref.ref_logits.prompt_ids);
  });
});

// ---------------------------------------------------------------------------------------------
// An independent BPE, written straight from the definition and deliberately naive (O(n²)): start
// from characters, repeatedly merge the adjacent pair with the highest-scoring piece (leftmost on
// ties), then map unknown characters to their UTF-8 byte pieces. It knows nothing of heaps, chunks
// or caches, so agreement on random text checks all three.
// ---------------------------------------------------------------------------------------------
interface Vocab {
  pieces: string[];
  scores: ArrayLike<number>;
  types: ArrayLike<number>;
}

function naiveEncode(v: Vocab, text: string): number[] {
  if (text.length === 0) return [];
  const mergeable = new Map<string, number>();
  const byte = new Map<number, number>();
  let unk = -1;
  v.pieces.forEach((p, id) => {
    const t = v.types[id];
    if (t === PieceType.Normal || t === PieceType.UserDefined || t === PieceType.Unused) mergeable.set(p, id);
    if (t === PieceType.Byte) byte.set(Number.parseInt(p.slice(3, 5), 16), id);
    if (t === PieceType.Unknown) unk = id;
  });
  const syms = Array.from(`▁${text.replaceAll(' ', '▁')}`);
  for (;;) {
    let best = -1;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let i = 0; i + 1 < syms.length; i++) {
      const id = mergeable.get((syms[i] as string) + syms[i + 1]);
      if (id !== undefined && (v.scores[id] as number) > bestScore) {
        best = i;
        bestScore = v.scores[id] as number;
      }
    }
    if (best < 0) break;
    syms.splice(best, 2, (syms[best] as string) + syms[best + 1]);
  }
  const ids: number[] = [];
  for (const s of syms) {
    const id = mergeable.get(s);
    if (id !== undefined) ids.push(id);
    else if (byte.size === 256) for (const b of new TextEncoder().encode(s)) ids.push(byte.get(b) as number);
    else ids.push(unk);
  }
  return ids;
}

/** Random text mixing what trips tokenizers: space runs, tabs, newlines, digits, accents, CJK, emoji, ▁ itself. */
function randomText(rng: Rng, length: number): string {
  const alphabet = [
    ...'abcdefghijklmnopqrstuvwxyz',
    ...'ETAOINSHRDLU',
    ...'0123456789',
    ...'.,;:!?()[]{}<>\'"-_=+*/\\#@$%^&|~`',
    ' ',
    ' ',
    ' ',
    ' ',
    ' ',
    ' ',
    '  ',
    '   ',
    '\t',
    '\n',
    '\n\n',
    '\r\n',
    'é',
    'ï',
    'ß',
    'ñ',
    'ø',
    'Å',
    '—',
    '“',
    '”',
    '…',
    '€',
    '日',
    '本',
    'の',
    'ä',
    '🙂',
    '🚀',
    '𝔘',
    '▁',
    '\u00a0',
    '\u200b',
    '\ufeff',
    '<s>',
    '</s>',
    '<unk>',
    '<0x41>',
    'the',
    ' the',
    'ing',
    'tion',
    ' kernel',
    'def ',
    'return ',
  ];
  let s = '';
  while (s.length < length) s += alphabet[rng.int(alphabet.length)];
  return s;
}

const tok4096Model = file('nq-docs-5M', 'tok4096.model');
const llamaModel = file('llama2-tokenizer', 'tokenizer.model');

describe.skipIf(!existsSync(tok4096Model) || !existsSync(llamaModel))(
  'agreement with an independent naive BPE',
  () => {
    for (const [name, p] of [
      ['tok4096', tok4096Model],
      ['Llama-2', llamaModel],
    ] as const) {
      it(`${name}: identical ids on 60 random strings and on real text snippets; decode round-trips`, () => {
        const tok = Tokenizer.fromSentencePieceModel(read(p));
        const vocab = tok.spec;
        const rng = new Rng(20240606);
        const texts: string[] = [];
        for (let i = 0; i < 60; i++) texts.push(randomText(rng, 20 + rng.int(200)));
        const docs = path.join(data, 'docs-valid.txt');
        if (existsSync(docs)) {
          const all = readFileSync(docs, 'utf8');
          for (let i = 0; i < 8; i++) {
            const at = rng.int(all.length - 600);
            texts.push(all.slice(at, at + 500));
          }
        }
        for (const t of texts) {
          expect(Array.from(tok.encode(t)), JSON.stringify(t)).toEqual(naiveEncode(vocab, t));
          // Round trip, up to what SentencePiece itself cannot keep: a literal ▁ in the input decodes as a space.
          expect(tok.decode(tok.encode(t)), JSON.stringify(t)).toBe(t.replaceAll('▁', ' '));
        }
      });
    }

    it('identical ids on long texts without spaces (the heap runs on long spans, cut where no piece can span)', () => {
      const rng = new Rng(99);
      const noSpace = (n: number) =>
        randomText(rng, n * 2)
          .replace(/[ \u2581]/g, '')
          .slice(0, n);
      for (const p of [tok4096Model, llamaModel]) {
        const tok = Tokenizer.fromSentencePieceModel(read(p));
        for (const t of [
          noSpace(700),
          noSpace(900),
          'ｶﾀｶﾅ日本語の文章'.repeat(40),
          'abcdefghij'.repeat(70),
        ]) {
          expect(Array.from(tok.encode(t)), t.slice(0, 40)).toEqual(naiveEncode(tok.spec, t));
        }
      }
    });

    it('identical ids when a piece spans a space (no cutting at spaces), on a real vocabulary', () => {
      // tok4096 plus the piece "e▁" (score between existing ones): the fast path must notice it can
      // no longer cut before each ▁ and still agree with the naive BPE.
      const base = Tokenizer.fromSentencePieceModel(read(tok4096Model)).spec;
      const spec = {
        ...base,
        pieces: [...base.pieces, 'e▁'],
        scores: Float32Array.from([...base.scores, -100.5]),
        types: Uint8Array.from([...base.types, PieceType.Normal]),
      };
      const tok = new Tokenizer(spec);
      const rng = new Rng(5);
      const texts = [
        randomText(rng, 400),
        randomText(rng, 700),
        'the tree here we see the free bee '.repeat(12),
      ];
      let crossings = 0;
      for (const t of texts) {
        const got = Array.from(tok.encode(t));
        expect(got, t.slice(0, 40)).toEqual(naiveEncode(spec, t));
        crossings += got.filter((id) => id === spec.pieces.length - 1).length;
      }
      expect(crossings).toBeGreaterThan(0); // the new piece really is used
    });

    it('is fast: 1 MB of text encodes in well under a second (logged, not asserted)', () => {
      const wiki = path.join(data, 'wikitext2-test.txt');
      if (!existsSync(wiki)) return;
      const text = readFileSync(wiki, 'utf8').slice(0, 1_000_000);
      for (const [name, p] of [
        ['tok4096', tok4096Model],
        ['Llama-2', llamaModel],
      ] as const) {
        const tok = Tokenizer.fromSentencePieceModel(read(p));
        const t0 = performance.now();
        const ids = tok.encode(text);
        const cold = performance.now() - t0;
        const t1 = performance.now();
        tok.encode(text);
        const warm = performance.now() - t1;
        const t2 = performance.now();
        tok.decode(ids);
        const dec = performance.now() - t2;
        // Worst case for the chunk cache: 1 MB with no spaces at all (mixed scripts, never repeating).
        const rng = new Rng(1);
        const parts: string[] = [];
        for (let n = 0; n < 1_000_000; ) {
          const s = randomText(rng, 64).replace(/[ \u2581]/g, '');
          parts.push(s);
          n += s.length;
        }
        const dense = parts.join('');
        const t3 = performance.now();
        tok.encode(dense);
        const denseMs = performance.now() - t3;
        console.log(
          `[tokenizer] ${name}: encode 1 MB WikiText-2: ${cold.toFixed(0)} ms cold cache, ${warm.toFixed(0)} ms warm; decode ${dec.toFixed(0)} ms; 1 M chars without spaces: ${denseMs.toFixed(0)} ms`,
        );
        expect(ids.length).toBeGreaterThan(100_000);
      }
    });
  },
);
