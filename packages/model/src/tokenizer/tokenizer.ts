// The SentencePiece BPE tokenizer: encode/decode identical to sentencepiece's
// SentencePieceProcessor (EncodeAsIds / DecodeIds) for BPE models with the identity normalizer.

import { NqInputError, NqUnsupportedError } from '@nq/core';
import { BpeModel } from './bpe.js';
import { ChunkCache, hashSeed, hashStep } from './chunk-cache.js';
import { specFromGgufMetadata } from './gguf-tokenizer.js';
import { IdBuffer } from './id-buffer.js';
import { type Llama2cTokenizerOptions, specFromLlama2cTokenizer } from './llama2c-tokenizer.js';
import { normalizeIdentity, toWellFormed } from './normalizer.js';
import { specFromSentencePieceModel } from './sentencepiece-model.js';
import { PieceType, SPACE_SYMBOL, type TokenizerSpec } from './spec.js';
import { decodeUtf8Lenient } from './utf8.js';

export interface EncodeOptions {
  /** Prepend the BOS id (default false, like SentencePiece's encode). */
  bos?: boolean;
  /** Append the EOS id (default false). */
  eos?: boolean;
}

/** Chunks longer than this are segmented every time instead of being cached. */
const MAX_CACHED_CHUNK = 64;
const SPACE_CODE = 0x2581;

function toBytes(data: Uint8Array | ArrayBuffer): Uint8Array {
  return data instanceof Uint8Array ? data : new Uint8Array(data);
}

export class Tokenizer {
  /** Number of pieces (ids are 0 … vocabSize-1). */
  readonly vocabSize: number;
  /** Ids of the special pieces, -1 when the vocabulary has none (SentencePiece's bos_id() etc.). */
  readonly bosId: number;
  readonly eosId: number;
  readonly unkId: number;
  readonly padId: number;
  /** Whether the model's convention is to prepend BOS / append EOS (GGUF add_bos_token; otherwise true / false). */
  readonly addBosByDefault: boolean;
  readonly addEosByDefault: boolean;
  readonly spec: Readonly<TokenizerSpec>;

  private readonly bpe: BpeModel;
  private readonly space: string;
  /**
   * Whether the normalized text may be cut before every ▁ that follows a non-▁ character and each
   * piece segmented on its own. That gives exactly the whole-text result when no mergeable piece
   * contains such a "x▁" junction (then no merge, and no user-defined match, can span the cut; merges
   * in different chunks never interact, and ties break left-first within a chunk either way) and no
   * piece is UNUSED (SentencePiece's resegmentation table is shared across the whole text).
   */
  private readonly chunked: boolean;
  /** Created on first use (a few MB), so a tokenizer that is only loaded costs nothing. */
  private cache: ChunkCache | undefined;
  private readonly scratch = new IdBuffer(256);

  constructor(spec: TokenizerSpec, defaults: { addBos?: boolean; addEos?: boolean } = {}) {
    const n = spec.pieces.length;
    if (spec.scores.length !== n || spec.types.length !== n) {
      throw new NqInputError(
        'spec',
        `has ${n} pieces, ${spec.scores.length} scores and ${spec.types.length} types`,
        'Give one score and one type per piece.',
      );
    }
    this.spec = spec;
    this.vocabSize = n;
    this.bpe = new BpeModel(spec);
    this.unkId = this.bpe.unkId;
    // SentencePiece: bos_id() is the id of bos_piece if that piece is a CONTROL piece, else -1.
    const controlId = (piece: string, explicit: number | undefined): number => {
      if (explicit !== undefined) return explicit;
      const id = this.bpe.pieceToId(piece);
      return spec.types[id] === PieceType.Control ? id : -1;
    };
    this.bosId = controlId(spec.bosPiece, spec.bosId);
    this.eosId = controlId(spec.eosPiece, spec.eosId);
    this.padId = controlId(spec.padPiece, spec.padId);
    this.addBosByDefault = defaults.addBos ?? true;
    this.addEosByDefault = defaults.addEos ?? false;
    this.space = spec.escapeWhitespaces ? SPACE_SYMBOL : ' ';
    this.chunked = !this.bpe.hasUnused && !this.bpe.piecesCross(this.space);
  }

  /** From a SentencePiece `.model` file (serialized ModelProto). */
  static fromSentencePieceModel(data: Uint8Array | ArrayBuffer, options: { file?: string } = {}): Tokenizer {
    return new Tokenizer(specFromSentencePieceModel(toBytes(data), options.file));
  }

  /** From llama2.c's `tokenizer.bin`. */
  static fromLlama2cBin(data: Uint8Array | ArrayBuffer, options: Llama2cTokenizerOptions = {}): Tokenizer {
    return new Tokenizer(specFromLlama2cTokenizer(toBytes(data), options));
  }

  /** From the `tokenizer.ggml.*` entries of already-parsed GGUF metadata. */
  static fromGgufMetadata(meta: Record<string, unknown>, options: { file?: string } = {}): Tokenizer {
    const info = specFromGgufMetadata(meta, options.file);
    return new Tokenizer(info.spec, { addBos: info.addBos, addEos: info.addEos });
  }

  /** Reads a file (Node only): `.bin` → llama2.c tokenizer.bin, anything else → SentencePiece `.model`. */
  static async fromFile(path: string): Promise<Tokenizer> {
    if (typeof process === 'undefined' || process.versions?.node === undefined) {
      throw new NqUnsupportedError(
        'Tokenizer.fromFile outside Node',
        'In a browser, fetch the bytes and call Tokenizer.fromSentencePieceModel or fromLlama2cBin.',
      );
    }
    const { readFile } = await import('node:fs/promises');
    const bytes = new Uint8Array(await readFile(path));
    return path.endsWith('.bin')
      ? Tokenizer.fromLlama2cBin(bytes, { file: path })
      : Tokenizer.fromSentencePieceModel(bytes, { file: path });
  }

  /** Text → ids, exactly as SentencePiece's EncodeAsIds (plus optional BOS/EOS). */
  encode(text: string, options: EncodeOptions = {}): Int32Array {
    if (typeof text !== 'string') {
      throw new NqInputError(
        'text',
        `is ${typeof text}, not a string`,
        'Pass the text to encode as a string.',
      );
    }
    const out = new IdBuffer((text.length >> 2) + 8);
    if (options.bos) out.push(this.specialId('bos'));
    this.encodeInto(text, out);
    if (options.eos) out.push(this.specialId('eos'));
    return out.toInt32Array();
  }

  /** Text → piece strings (for inspection; SentencePiece's EncodeAsPieces). */
  encodeAsPieces(text: string): string[] {
    return Array.from(this.encode(text), (id) => this.spec.pieces[id] as string);
  }

  private specialId(which: 'bos' | 'eos'): number {
    const id = which === 'bos' ? this.bosId : this.eosId;
    if (id < 0) {
      throw new NqInputError(
        `options.${which}`,
        `this vocabulary has no ${which.toUpperCase()} piece`,
        `Call encode without ${which}: true.`,
      );
    }
    return id;
  }

  private encodeInto(text: string, out: IdBuffer): void {
    const spec = this.spec;
    // Usual case (Llama-2, nq-docs): no whitespace removal, spaces escaped. Then the raw text is
    // scanned in place, ' ' read as ▁ and the dummy prefix as a virtual leading ▁, so no normalized
    // copy of the whole input is built. Otherwise normalize first and scan that.
    const inPlace = spec.escapeWhitespaces && !spec.removeExtraWhitespaces;
    if (!this.chunked) {
      this.bpe.encodeInto(normalizeIdentity(text, spec), out);
      return;
    }
    const src = inPlace ? toWellFormed(text) : normalizeIdentity(text, spec);
    const n = src.length;
    if (n === 0) return;
    const mapSpace = inPlace;
    const space = spec.escapeWhitespaces ? SPACE_CODE : 0x20;
    let lead = inPlace && spec.addDummyPrefix;
    let from = 0;
    let h = lead ? hashStep(hashSeed, SPACE_CODE) : hashSeed;
    let prevSpace = lead;
    for (let i = 0; i < n; i++) {
      let c = src.charCodeAt(i);
      if (mapSpace && c === 0x20) c = SPACE_CODE;
      const isSpace = c === space;
      // Cut before a ▁ that follows a non-▁ character.
      if (isSpace && !prevSpace && i > from) {
        this.encodeChunk(src, from, i, lead, mapSpace, h, out);
        from = i;
        lead = false;
        h = hashSeed;
      }
      h = hashStep(h, c);
      prevSpace = isSpace;
    }
    this.encodeChunk(src, from, n, lead, mapSpace, h, out);
  }

  /** Encodes the chunk [▁ if lead] + src[from, to) (with ' ' read as ▁ if mapSpace); `h` is its hash. */
  private encodeChunk(
    src: string,
    from: number,
    to: number,
    lead: boolean,
    mapSpace: boolean,
    h: number,
    out: IdBuffer,
  ): void {
    const len = to - from + (lead ? 1 : 0);
    const cacheable = len <= MAX_CACHED_CHUNK;
    let ids: Int32Array;
    if (this.cache === undefined) this.cache = new ChunkCache();
    const cache = this.cache;
    const hit = cacheable ? cache.find(src, from, to, lead, mapSpace, h) : -1;
    if (hit >= 0) {
      ids = cache.ids(hit);
    } else {
      let chunk = src.slice(from, to);
      if (mapSpace) chunk = chunk.replaceAll(' ', SPACE_SYMBOL);
      if (lead) chunk = SPACE_SYMBOL + chunk;
      const tmp = this.scratch;
      tmp.clear();
      this.bpe.encodeInto(chunk, tmp);
      ids = tmp.data.subarray(0, tmp.length);
      if (cacheable) cache.insert(chunk, h, ids);
    }
    // SentencePiece collapses a run of unknown pieces, also across our chunk boundary.
    const skipFirst = !this.bpe.byteFallback && ids[0] === this.unkId && out.last() === this.unkId ? 1 : 0;
    out.append(ids, skipFirst);
  }

  /**
   * Per id, what decode prints in the middle of a text: "" for control pieces, the unknown surface,
   * the piece with ▁ → ' ', or null for byte pieces (decoded in runs). Built on first decode.
   */
  private surfaces: (string | null)[] | undefined;
  /** Byte value of each <0xNN> piece, -1 for other pieces. */
  private byteValue: Int16Array | undefined;

  private buildSurfaces(): (string | null)[] {
    const { pieces, types } = this.spec;
    const surfaces: (string | null)[] = new Array(this.vocabSize);
    const byteValue = new Int16Array(this.vocabSize).fill(-1);
    for (let id = 0; id < this.vocabSize; id++) {
      const t = types[id];
      const p = pieces[id] as string;
      if (t === PieceType.Byte) {
        surfaces[id] = null;
        byteValue[id] = Number.parseInt(p.slice(3, 5), 16);
      } else if (t === PieceType.Control) surfaces[id] = '';
      else if (t === PieceType.Unknown) surfaces[id] = this.spec.unkSurface;
      else surfaces[id] = p.replaceAll(SPACE_SYMBOL, ' ');
    }
    this.byteValue = byteValue;
    this.surfaces = surfaces;
    return surfaces;
  }

  /** Ids → text, exactly as SentencePiece's DecodeIds (BOS/EOS and other control pieces print nothing). */
  decode(ids: ArrayLike<number>): string {
    const n = this.vocabSize;
    const surfaces = this.surfaces ?? this.buildSurfaces();
    const byteValue = this.byteValue as Int16Array;
    const { types, pieces } = this.spec;
    const stripBosWs = this.spec.addDummyPrefix || this.spec.removeExtraWhitespaces;
    let text = '';
    // Pending run of byte pieces, decoded together so multi-byte characters reassemble.
    let bytes = new Uint8Array(16);
    let nBytes = 0;
    let isBosWs = stripBosWs; // still expecting the dummy-prefix ▁ to drop
    let bosWsSeen = false;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      if (!(id >= 0 && id < n && Number.isInteger(id))) {
        throw new NqInputError(
          `ids[${i}]`,
          `is ${id}, outside 0..${n - 1}`,
          'Decode only ids produced by this tokenizer.',
        );
      }
      const surface = surfaces[id];
      if (surface === null) {
        if (nBytes === bytes.length) {
          const grown = new Uint8Array(bytes.length * 2);
          grown.set(bytes);
          bytes = grown;
        }
        bytes[nBytes++] = byteValue[id] as number;
        continue;
      }
      if (nBytes > 0) {
        text += decodeUtf8Lenient(bytes, nBytes);
        nBytes = 0;
      }
      if (isBosWs) {
        // SentencePiece drops the ▁ of the first piece that starts with one, as long as nothing has
        // been printed yet; control pieces (BOS) print nothing and do not end this.
        if (bosWsSeen || text.length > 0) {
          isBosWs = false;
        } else {
          const t = types[id];
          if (
            t !== PieceType.Control &&
            t !== PieceType.Unknown &&
            pieces[id]?.charCodeAt(0) === SPACE_CODE
          ) {
            text += surface.slice(1);
            bosWsSeen = !this.spec.removeExtraWhitespaces;
            continue;
          }
        }
      }
      text += surface;
    }
    if (nBytes > 0) text += decodeUtf8Lenient(bytes, nBytes);
    return text;
  }

  /** Piece text of an id (with ▁ for spaces). */
  idToPiece(id: number): string {
    this.checkId(id, 'id');
    return this.spec.pieces[id] as string;
  }

  /** Id of a piece text; the unknown id when absent (SentencePiece's PieceToId). */
  pieceToId(piece: string): number {
    return this.bpe.pieceToId(piece);
  }

  score(id: number): number {
    this.checkId(id, 'id');
    return this.spec.scores[id] as number;
  }

  pieceType(id: number): PieceType {
    this.checkId(id, 'id');
    return this.spec.types[id] as PieceType;
  }

  private checkId(id: number, name: string): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new NqInputError(
        name,
        `is ${id}, outside 0..${this.vocabSize - 1}`,
        'Use an id of this vocabulary.',
      );
    }
  }
}
