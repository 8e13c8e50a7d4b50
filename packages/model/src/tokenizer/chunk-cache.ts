// Cache of chunk → ids keyed by the chunk's content *in place*: a chunk of the input is looked up by
// hashing and comparing its UTF-16 units where they lie in the source string, so a cache hit (the
// common case on natural text, where a few thousand words make up most chunks) allocates nothing.
// A substring is only cut out, and segmented, on a miss.
//
// Keys are in normalized form (spaces as ▁). With `mapSpace` the source is raw text whose ' ' stands
// for ▁, which lets the tokenizer skip building a normalized copy of the whole input.

const SPACE_SYMBOL_CODE = 0x2581;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export const hashSeed = FNV_OFFSET;

/** FNV-1a step over one UTF-16 unit. */
export function hashStep(h: number, unit: number): number {
  return Math.imul(h ^ unit, FNV_PRIME);
}

export class ChunkCache {
  private mask: number;
  /** Slot → entry index + 1 (0 = empty). */
  private slots: Int32Array;
  private hashes: Int32Array;
  private keys: string[] = [];
  private idStart: Int32Array;
  private idCount: Int32Array;
  private pool: Int32Array;
  private poolUsed = 0;
  private entries = 0;

  constructor(
    private readonly maxEntries = 1 << 17,
    poolCapacity = 1 << 20,
  ) {
    const size = maxEntries * 2;
    this.mask = size - 1;
    this.slots = new Int32Array(size);
    this.hashes = new Int32Array(maxEntries);
    this.idStart = new Int32Array(maxEntries);
    this.idCount = new Int32Array(maxEntries);
    this.pool = new Int32Array(poolCapacity);
  }

  clear(): void {
    this.slots.fill(0);
    this.keys = [];
    this.entries = 0;
    this.poolUsed = 0;
  }

  /**
   * Entry index of the chunk [optional leading ▁] + src[from, to), or -1. `hash` must be the hash
   * of exactly that normalized content.
   */
  find(src: string, from: number, to: number, lead: boolean, mapSpace: boolean, hash: number): number {
    const len = to - from + (lead ? 1 : 0);
    for (let slot = hash & this.mask; ; slot = (slot + 1) & this.mask) {
      const e = (this.slots[slot] as number) - 1;
      if (e < 0) return -1;
      if (this.hashes[e] !== hash) continue;
      const key = this.keys[e] as string;
      if (key.length !== len) continue;
      let k = 0;
      if (lead) {
        if (key.charCodeAt(0) !== SPACE_SYMBOL_CODE) continue;
        k = 1;
      }
      let i = from;
      for (; i < to; i++, k++) {
        let c = src.charCodeAt(i);
        if (mapSpace && c === 0x20) c = SPACE_SYMBOL_CODE;
        if (key.charCodeAt(k) !== c) break;
      }
      if (i === to) return e;
    }
  }

  /** Ids of an entry (a view into the pool; copy before the next insert). */
  ids(e: number): Int32Array {
    const start = this.idStart[e] as number;
    return this.pool.subarray(start, start + (this.idCount[e] as number));
  }

  insert(key: string, hash: number, ids: Int32Array): void {
    if (this.entries === this.maxEntries) this.clear();
    if (this.poolUsed + ids.length > this.pool.length) {
      if (ids.length > this.pool.length / 4) return; // too big to be worth caching
      this.clear();
    }
    const e = this.entries++;
    this.keys.push(key);
    this.hashes[e] = hash;
    this.idStart[e] = this.poolUsed;
    this.idCount[e] = ids.length;
    this.pool.set(ids, this.poolUsed);
    this.poolUsed += ids.length;
    let slot = hash & this.mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask;
    this.slots[slot] = e + 1;
  }
}
