// SentencePiece's BPE segmentation (sentencepiece::bpe::Model::Encode), on normalized text.
//
// The text starts as one symbol per character (a user-defined piece matched at a position is one
// frozen symbol instead). Every adjacent pair whose concatenation is a vocabulary piece goes into a
// max-heap keyed by that piece's score (ties: leftmost pair first). The best pair is merged, its
// two new neighbour pairs are looked up and pushed, and stale heap entries (a side already merged
// away) are skipped when popped — O(n log n), no rescans. Symbols live in a doubly linked list over
// typed arrays; a symbol is a [start, end) range of the text, so merging is just moving `end`.
//
// Output per final symbol: its id; an unknown character becomes its UTF-8 bytes as <0xNN> pieces
// when byte_fallback is on, otherwise the unknown id (consecutive unknowns collapse into one, as
// SentencePieceProcessor does); a symbol that is an UNUSED piece is split back into the two
// symbols it was merged from (SentencePiece's "resegment").

import { NqFormatError } from '@nq/core';
import type { IdBuffer } from './id-buffer.js';
import { PieceType, type TokenizerSpec } from './spec.js';

/** Longest-match of user-defined pieces at a position (SentencePiece's PrefixMatcher). */
class UserDefinedMatcher {
  /** First UTF-16 unit → candidate pieces, longest first. */
  private readonly byFirst = new Map<number, string[]>();

  constructor(pieces: string[]) {
    for (const p of pieces) {
      const c = p.charCodeAt(0);
      const list = this.byFirst.get(c) ?? [];
      list.push(p);
      this.byFirst.set(c, list);
    }
    for (const list of this.byFirst.values()) list.sort((a, b) => b.length - a.length);
  }

  /** Length (UTF-16 units) of the longest user-defined piece starting at `i`, or 0. */
  match(s: string, i: number): number {
    const list = this.byFirst.get(s.charCodeAt(i));
    if (list === undefined) return 0;
    for (const p of list) if (s.startsWith(p, i)) return p.length;
    return 0;
  }
}

/**
 * (left piece id, right piece id) → id of the piece spelled by their concatenation, for every
 * mergeable piece that splits into two mergeable pieces. Lets the merge loop look pairs up by two
 * integers instead of slicing and hashing a string per candidate pair. Open addressing, linear probing.
 */
class PairTable {
  private readonly mask: number;
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly merged: Int32Array;

  constructor(capacityHint: number) {
    let size = 1024;
    while (size < capacityHint * 2) size *= 2;
    this.mask = size - 1;
    this.left = new Int32Array(size).fill(-1);
    this.right = new Int32Array(size);
    this.merged = new Int32Array(size);
  }

  private static hash(a: number, b: number): number {
    return (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77)) >>> 0;
  }

  set(a: number, b: number, m: number): void {
    let i = PairTable.hash(a, b) & this.mask;
    while (this.left[i] !== -1 && !(this.left[i] === a && this.right[i] === b)) i = (i + 1) & this.mask;
    this.left[i] = a;
    this.right[i] = b;
    this.merged[i] = m;
  }

  /** Merged id, or -1. */
  get(a: number, b: number): number {
    const left = this.left;
    let i = PairTable.hash(a, b) & this.mask;
    for (;;) {
      const k = left[i] as number;
      if (k === -1) return -1;
      if (k === a && this.right[i] === b) return this.merged[i] as number;
      i = (i + 1) & this.mask;
    }
  }
}

/** Texts longer than this (UTF-16 units) are cut at safe points before segmentation. */
const LONG_TEXT = 256;
/** Shortest span worth a separate heap run. */
const MIN_SPAN = 32;

export class BpeModel {
  /** SentencePiece's `pieces_`: NORMAL, USER_DEFINED and UNUSED pieces — the ones merges may form. */
  readonly mergeable = new Map<string, number>();
  /** SentencePiece's `reserved_id_map_`: CONTROL, UNKNOWN and BYTE pieces (looked up first). */
  readonly reserved = new Map<string, number>();
  readonly unkId: number;
  /** Byte value → id of its <0xNN> piece, or -1. */
  readonly byteToId = new Int32Array(256).fill(-1);
  readonly byteFallback: boolean;
  readonly hasUnused: boolean;
  readonly hasUserDefined: boolean;
  /** Longest mergeable piece in UTF-16 units: longer concatenations need no lookup. */
  private readonly maxPieceLength: number;
  private readonly scores: Float32Array;
  private readonly types: Uint8Array;
  /** id of a mergeable piece → the id PieceToId gives its text (differs only if a reserved piece shares it). */
  private readonly outputId: Int32Array;
  /** Single UTF-16 unit → id as PieceToId would give (unk when absent). */
  private readonly unitId: Int32Array;
  /** Single UTF-16 unit → its mergeable piece id, or -1. */
  private readonly unitMergeable: Int32Array;
  private readonly pairs: PairTable;
  private readonly matcher: UserDefinedMatcher | null;

  // Scratch for one encode call (grown on demand; encode is not re-entrant, JS is single-threaded).
  private cap = 0;
  private symStart = new Int32Array(0);
  private symEnd = new Int32Array(0);
  private symPrev = new Int32Array(0);
  private symNext = new Int32Array(0);
  /** Mergeable piece id of each symbol's text, or -1 (a character missing from the vocabulary). */
  private symMid = new Int32Array(0);
  private symFrozen = new Uint8Array(0);
  private pairCap = 0;
  private pairLeft = new Int32Array(0);
  private pairRight = new Int32Array(0);
  private pairSize = new Int32Array(0);
  private pairId = new Int32Array(0);
  private pairScore = new Float64Array(0);
  private heap = new Int32Array(0);
  private revMerge = new Map<string, [string, string]>();

  constructor(spec: TokenizerSpec) {
    const { pieces, types, scores, source } = spec;
    this.scores = scores;
    this.types = types;
    let unkId = -1;
    let maxLen = 0;
    let hasUnused = false;
    const userDefined: string[] = [];
    for (let id = 0; id < pieces.length; id++) {
      const p = pieces[id] as string;
      const t = types[id] as number;
      const isMergeable = t === PieceType.Normal || t === PieceType.UserDefined || t === PieceType.Unused;
      const map = isMergeable ? this.mergeable : this.reserved;
      if (p.length === 0) throw new NqFormatError(source, `piece ${id} is empty`);
      if (map.has(p))
        throw new NqFormatError(
          source,
          `piece ${JSON.stringify(p)} is defined twice (ids ${map.get(p)} and ${id})`,
        );
      map.set(p, id);
      if (isMergeable) maxLen = Math.max(maxLen, p.length);
      if (t === PieceType.UserDefined) userDefined.push(p);
      if (t === PieceType.Unused) hasUnused = true;
      if (t === PieceType.Unknown) {
        if (unkId >= 0) throw new NqFormatError(source, `two unknown pieces (ids ${unkId} and ${id})`);
        unkId = id;
      }
      if (t === PieceType.Byte) {
        const m = /^<0x([0-9A-F]{2})>$/.exec(p);
        if (m === null)
          throw new NqFormatError(source, `byte piece ${id} is ${JSON.stringify(p)}, expected <0xNN>`);
        this.byteToId[Number.parseInt(m[1] as string, 16)] = id;
      }
    }
    if (unkId < 0)
      throw new NqFormatError(source, 'no unknown piece (type UNKNOWN); SentencePiece requires one');
    this.unkId = unkId;
    if (spec.byteFallback && this.byteToId.includes(-1)) {
      throw new NqFormatError(
        source,
        'byte_fallback is on but the 256 <0xNN> byte pieces are not all present',
      );
    }
    this.byteFallback = spec.byteFallback;
    this.hasUnused = hasUnused;
    this.hasUserDefined = userDefined.length > 0;
    this.matcher = userDefined.length > 0 ? new UserDefinedMatcher(userDefined) : null;
    this.maxPieceLength = maxLen;
    this.outputId = new Int32Array(pieces.length);
    for (let id = 0; id < pieces.length; id++)
      this.outputId[id] = this.reserved.get(pieces[id] as string) ?? id;
    this.unitId = new Int32Array(65536).fill(unkId);
    for (const [p, id] of this.mergeable)
      if (p.length === 1) this.unitId[p.charCodeAt(0)] = this.outputId[id] as number;
    for (const [p, id] of this.reserved) if (p.length === 1) this.unitId[p.charCodeAt(0)] = id;
    this.unitMergeable = new Int32Array(65536).fill(-1);
    for (const [p, id] of this.mergeable) if (p.length === 1) this.unitMergeable[p.charCodeAt(0)] = id;
    // Every way each mergeable piece splits into two mergeable pieces (never inside a surrogate pair).
    const splits: number[] = [];
    for (const [p, id] of this.mergeable) {
      for (let k = 1; k < p.length; k++) {
        const c = p.charCodeAt(k);
        if (c >= 0xdc00 && c <= 0xdfff) continue;
        const l = this.mergeable.get(p.slice(0, k));
        if (l === undefined) continue;
        const r = this.mergeable.get(p.slice(k));
        if (r !== undefined) splits.push(l, r, id);
      }
    }
    this.pairs = new PairTable(splits.length / 3);
    for (let i = 0; i < splits.length; i += 3)
      this.pairs.set(splits[i] as number, splits[i + 1] as number, splits[i + 2] as number);
  }

  /** SentencePiece's PieceToId: reserved pieces first, then mergeable ones, else the unknown id. */
  pieceToId(piece: string): number {
    return this.reserved.get(piece) ?? this.mergeable.get(piece) ?? this.unkId;
  }

  /** True if some mergeable piece has `space` right after another character (so a chunk boundary there could be crossed). */
  piecesCross(space: string): boolean {
    for (const p of this.mergeable.keys()) {
      for (let i = p.indexOf(space, 1); i > 0; i = p.indexOf(space, i + 1)) {
        if (p[i - 1] !== space) return true;
      }
    }
    return false;
  }

  private ensureCapacity(n: number): void {
    if (n > this.cap) {
      const cap = Math.max(n, this.cap * 2, 64);
      this.symStart = new Int32Array(cap);
      this.symEnd = new Int32Array(cap);
      this.symPrev = new Int32Array(cap);
      this.symNext = new Int32Array(cap);
      this.symMid = new Int32Array(cap);
      this.symFrozen = new Uint8Array(cap);
      this.cap = cap;
    }
    // Pairs: n-1 initial + at most 2 per merge (≤ n-1 merges).
    const pairs = 3 * n + 4;
    if (pairs > this.pairCap) {
      const cap = Math.max(pairs, this.pairCap * 2, 256);
      this.pairLeft = new Int32Array(cap);
      this.pairRight = new Int32Array(cap);
      this.pairSize = new Int32Array(cap);
      this.pairId = new Int32Array(cap);
      this.pairScore = new Float64Array(cap);
      this.heap = new Int32Array(cap);
      this.pairCap = cap;
    }
  }

  /**
   * Pairs of UTF-16 units (a << 16 | b) that occur side by side inside some mergeable piece. Between
   * two characters that never do, no merge (and no user-defined match) can ever span, so the text
   * can be cut there and each side segmented alone with exactly the same result. Built on first use.
   */
  private adjacentUnits: Set<number> | undefined;

  private adjacent(): Set<number> {
    if (this.adjacentUnits === undefined) {
      const set = new Set<number>();
      for (const p of this.mergeable.keys()) {
        for (let i = 1; i < p.length; i++) set.add(((p.charCodeAt(i - 1) << 16) | p.charCodeAt(i)) >>> 0);
      }
      this.adjacentUnits = set;
    }
    return this.adjacentUnits;
  }

  /** Segments normalized text `s` and appends its ids to `out`. */
  encodeInto(s: string, out: IdBuffer): void {
    // A long text goes through the heap in independent pieces (smaller heaps, better locality). Not
    // with UNUSED pieces: SentencePiece's resegmentation table is shared across the whole text.
    if (s.length <= LONG_TEXT || this.hasUnused) {
      this.encodeSpan(s, out);
      return;
    }
    const adjacent = this.adjacent();
    let from = 0;
    let prev = s.charCodeAt(0);
    for (let i = 1; i < s.length; i++) {
      const c = s.charCodeAt(i);
      // Never cut inside a surrogate pair; cut where the two units never touch inside a piece.
      if (i - from >= MIN_SPAN && !(c >= 0xdc00 && c <= 0xdfff) && !adjacent.has(((prev << 16) | c) >>> 0)) {
        this.encodeSpan(s.slice(from, i), out);
        from = i;
      }
      prev = c;
    }
    this.encodeSpan(from === 0 ? s : s.slice(from), out);
  }

  private encodeSpan(s: string, out: IdBuffer): void {
    const n = s.length;
    if (n === 0) return;
    this.ensureCapacity(n);
    const start = this.symStart;
    const end = this.symEnd;
    const prev = this.symPrev;
    const next = this.symNext;
    const symMid = this.symMid;
    const frozen = this.symFrozen;
    const matcher = this.matcher;

    // 1. One symbol per character (surrogate pairs stay together), or per matched user-defined piece.
    let count = 0;
    for (let i = 0; i < n; ) {
      let len = 0;
      let mid = -1;
      let isFrozen = 0;
      if (matcher !== null) {
        len = matcher.match(s, i);
        if (len > 0) {
          isFrozen = 1;
          mid = this.mergeable.get(s.slice(i, i + len)) as number;
        }
      }
      if (len === 0) {
        const c = s.charCodeAt(i);
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
          len = 2;
          mid = this.mergeable.get(s.slice(i, i + 2)) ?? -1;
        } else {
          len = 1;
          mid = this.unitMergeable[c] as number;
        }
      }
      start[count] = i;
      end[count] = i + len;
      prev[count] = count - 1;
      next[count] = count + 1;
      symMid[count] = mid;
      frozen[count] = isFrozen;
      count++;
      i += len;
    }
    next[count - 1] = -1;

    // 2. All adjacent pairs that form a piece.
    this.heapSize = 0;
    this.pairCount = 0;
    if (this.hasUnused) this.revMerge.clear();
    for (let k = 1; k < count; k++) this.maybeAddPair(s, k - 1, k);

    // 3. Merge the best pair until none is left.
    const pLeft = this.pairLeft;
    const pRight = this.pairRight;
    const pSize = this.pairSize;
    const pId = this.pairId;
    while (this.heapSize > 0) {
      const p = this.popBest();
      const l = pLeft[p] as number;
      const r = pRight[p] as number;
      const lLen = (end[l] as number) - (start[l] as number);
      const rLen = (end[r] as number) - (start[r] as number);
      // Stale: a side was merged away (empty) or grew since this pair was pushed.
      if (lLen === 0 || rLen === 0 || lLen + rLen !== pSize[p]) continue;
      end[l] = end[r] as number;
      symMid[l] = pId[p] as number;
      const rn = next[r] as number;
      next[l] = rn;
      if (rn >= 0) prev[rn] = l;
      end[r] = start[r] as number; // r is now empty
      this.maybeAddPair(s, prev[l] as number, l);
      this.maybeAddPair(s, l, rn);
    }

    // 4. Emit.
    for (let k = 0; k !== -1; k = next[k] as number) {
      const mid = symMid[k] as number;
      const a = start[k] as number;
      const b = end[k] as number;
      if (mid >= 0) {
        if (this.hasUnused && this.types[mid] === PieceType.Unused) this.resegment(s.slice(a, b), out);
        else out.push(this.outputId[mid] as number);
      } else {
        // Not a mergeable piece: a single character, perhaps a reserved piece, else unknown.
        const id = b - a === 1 ? (this.unitId[s.charCodeAt(a)] as number) : this.pieceToId(s.slice(a, b));
        this.emit(s, a, b, id, out);
      }
    }
  }

  private heapSize = 0;
  private pairCount = 0;

  private maybeAddPair(s: string, l: number, r: number): void {
    if (l < 0 || r < 0) return;
    if (this.symFrozen[l] === 1 || this.symFrozen[r] === 1) return;
    const ml = this.symMid[l] as number;
    const mr = this.symMid[r] as number;
    const a = this.symStart[l] as number;
    const b = this.symEnd[r] as number;
    let id: number;
    if (ml >= 0 && mr >= 0) {
      id = this.pairs.get(ml, mr);
    } else {
      // A side is a character outside the vocabulary: only a string lookup can tell (never true for
      // trained vocabularies, but SentencePiece would merge if the concatenation were a piece).
      id = b - a > this.maxPieceLength ? -1 : (this.mergeable.get(s.slice(a, b)) ?? -1);
    }
    if (id < 0) return;
    const p = this.pairCount++;
    this.pairLeft[p] = l;
    this.pairRight[p] = r;
    this.pairSize[p] = b - a;
    this.pairId[p] = id;
    this.pairScore[p] = this.scores[id] as number;
    this.pushPair(p);
    if (this.hasUnused && this.types[id] === PieceType.Unused) {
      this.revMerge.set(s.slice(a, b), [s.slice(a, this.symEnd[l]), s.slice(this.symStart[r], b)]);
    }
  }

  /** Heap order: higher score first; equal scores: smaller left index first. */
  private better(p: number, q: number): boolean {
    const sp = this.pairScore[p] as number;
    const sq = this.pairScore[q] as number;
    return sp > sq || (sp === sq && (this.pairLeft[p] as number) < (this.pairLeft[q] as number));
  }

  private pushPair(p: number): void {
    const heap = this.heap;
    let i = this.heapSize++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const q = heap[parent] as number;
      if (!this.better(p, q)) break;
      heap[i] = q;
      i = parent;
    }
    heap[i] = p;
  }

  private popBest(): number {
    const heap = this.heap;
    const top = heap[0] as number;
    const size = --this.heapSize;
    if (size > 0) {
      const last = heap[size] as number;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= size) break;
        const right = left + 1;
        let child = left;
        if (right < size && this.better(heap[right] as number, heap[left] as number)) child = right;
        const c = heap[child] as number;
        if (!this.better(c, last)) break;
        heap[i] = c;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }

  /** Appends the id of symbol s[a, b), expanding an unknown character per byte_fallback. */
  private emit(s: string, a: number, b: number, id: number, out: IdBuffer): void {
    if (id !== this.unkId) {
      out.push(id);
      return;
    }
    if (!this.byteFallback) {
      // SentencePieceProcessor merges a run of unknown pieces into one.
      if (out.last() !== this.unkId) out.push(id);
      return;
    }
    for (let i = a; i < b; ) {
      const cp = s.codePointAt(i) as number;
      i += cp > 0xffff ? 2 : 1;
      if (cp < 0x80) {
        out.push(this.byteToId[cp] as number);
      } else if (cp < 0x800) {
        out.push(this.byteToId[0xc0 | (cp >> 6)] as number);
        out.push(this.byteToId[0x80 | (cp & 0x3f)] as number);
      } else if (cp < 0x10000) {
        out.push(this.byteToId[0xe0 | (cp >> 12)] as number);
        out.push(this.byteToId[0x80 | ((cp >> 6) & 0x3f)] as number);
        out.push(this.byteToId[0x80 | (cp & 0x3f)] as number);
      } else {
        out.push(this.byteToId[0xf0 | (cp >> 18)] as number);
        out.push(this.byteToId[0x80 | ((cp >> 12) & 0x3f)] as number);
        out.push(this.byteToId[0x80 | ((cp >> 6) & 0x3f)] as number);
        out.push(this.byteToId[0x80 | (cp & 0x3f)] as number);
      }
    }
  }

  /** Splits an UNUSED piece back into the symbols it was merged from (recursively). */
  private resegment(w: string, out: IdBuffer): void {
    const id = this.pieceToId(w);
    const split = this.types[id] === PieceType.Unused ? this.revMerge.get(w) : undefined;
    if (split === undefined) {
      this.emit(w, 0, w.length, id, out);
      return;
    }
    this.resegment(split[0], out);
    this.resegment(split[1], out);
  }
}
