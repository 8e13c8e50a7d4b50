/**
 * One WebAssembly.Memory shared by the GEMM kernel and the element-wise kernels, with the layout
 *   [0, top)  long-lived regions: resident weights and pinned workspace arrays (bump-allocated);
 *   [top, …)  per-call scratch: operands that live elsewhere are copied in here for one call.
 *
 * An operand that already is a view of this memory (a pinned workspace array, or a subarray of one)
 * is passed to a kernel by its byte offset, with no copy in or out: that is the point of pinning the
 * forward pass's activations here.
 *
 * Growing a shared memory gives `memory.buffer` a new SharedArrayBuffer object over the same bytes;
 * views made before stay valid, so every buffer object the memory has had is remembered to recognise
 * them. (A non-shared memory detaches its old buffer on growth: pinning is only offered for shared
 * memories, and private ones only hold scratch.)
 */
const PAGE = 65536;

/** Rounds a byte count up to a multiple of 16 (plain arithmetic: sizes may exceed 2^31). */
function roundUp16(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}

/** The bytes of the region behind a pinned array of n floats (see Arena.pin). */
export function pinnedBytes(n: number, pow2: boolean): number {
  const bytes = Math.max(16, n * 4);
  return pow2 ? 2 ** Math.ceil(Math.log2(bytes)) : bytes;
}

export class Arena {
  f32: Float32Array;
  /**
   * End of the long-lived regions, 16-byte aligned; scratch starts here. The first 16 bytes stay
   * unused so that a kernel can take pointer 0 to mean "no operand".
   */
  top = 16;
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  /** Released long-lived regions by byte size (resident weights re-registered after an in-place edit have the same sizes). */
  private readonly free = new Map<number, number[]>();
  /** The same regions by end offset → [offset, size], to lower `top` when the region under it is released. */
  private readonly freeByEnd = new Map<number, [number, number]>();

  constructor(
    readonly memory: WebAssembly.Memory,
    readonly maxPages: number,
  ) {
    this.f32 = new Float32Array(memory.buffer);
    this.buffers.add(memory.buffer);
  }

  /** Grows the memory to at least `bytes`; refreshes the view (a grown memory has a new buffer object). */
  ensureBytes(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) {
      const pages = Math.ceil((bytes - have) / PAGE);
      if (have / PAGE + pages > this.maxPages)
        throw new RangeError(
          `the kernel's memory would need ${bytes} bytes, more than its ${this.maxPages * PAGE}-byte limit`,
        );
      this.memory.grow(pages);
    }
    if (this.f32.buffer !== this.memory.buffer) {
      this.f32 = new Float32Array(this.memory.buffer);
      this.buffers.add(this.memory.buffer);
    }
  }

  /** Byte offset of `a` in this memory when it is a view of it, else −1. */
  offsetOf(a: Float32Array): number {
    return this.buffers.has(a.buffer) ? a.byteOffset : -1;
  }

  /** A long-lived region of `bytes` (rounded up to 16): a released one of that size, or a new one at top. */
  allocLongLived(bytes: number): number {
    const size = roundUp16(bytes);
    const reuse = this.free.get(size)?.pop();
    if (reuse !== undefined) {
      this.freeByEnd.delete(reuse + size);
      return reuse;
    }
    const at = this.top;
    this.ensureBytes(at + size); // throws RangeError (top unchanged) beyond the memory's limit
    this.top = at + size;
    return at;
  }

  /**
   * Gives a long-lived region back: reused by a later allocation of the same size, and when it (and
   * free regions below it) end at `top`, `top` comes down, so that scratch gets the space back.
   */
  release(at: number, bytes: number): void {
    const start = at;
    const size = roundUp16(bytes);
    if (start + size === this.top) {
      this.top = start;
      // Free regions that now end at top come off as well.
      for (
        let below = this.freeByEnd.get(this.top);
        below !== undefined;
        below = this.freeByEnd.get(this.top)
      ) {
        const [bAt, bSize] = below;
        this.freeByEnd.delete(this.top);
        const list = this.free.get(bSize)!;
        list.splice(list.indexOf(bAt), 1);
        this.top = bAt;
      }
      return;
    }
    const list = this.free.get(size);
    if (list) list.push(start);
    else this.free.set(size, [start]);
    this.freeByEnd.set(start + size, [start, size]);
  }

  /**
   * A Float32Array of n floats living in this memory until released (activations, caches). With
   * `pow2`, the region is rounded up to a power of two bytes, so that regions released by owners of
   * varied sizes (KV caches of different lengths) can be reused instead of piling up.
   */
  pin(n: number, pow2 = false): Float32Array {
    const at = this.allocLongLived(pinnedBytes(n, pow2));
    return new Float32Array(this.memory.buffer, at, n);
  }
}

/**
 * Places one call's operands: each is either found in the arena (its offset) or given a scratch slot
 * after `top`, copied in when the kernel reads it. `copyOut` then copies kernel outputs that had to go
 * to scratch back into their arrays.
 */
export class Staging {
  private cursor: number;
  private readonly start: number;
  private readonly outs: [Float32Array, number, number][] = [];

  constructor(private readonly arena: Arena) {
    this.cursor = arena.top;
    this.start = arena.top;
  }

  /** Scratch slot of n floats after the previous ones. */
  private next(n: number): number {
    // A long-lived allocation after this staging began would overlap its slots: a bug in the caller.
    if (this.arena.top !== this.start)
      throw new Error('arena: long-lived allocation while a call was being staged');
    const p = this.cursor;
    this.cursor += roundUp16(n * 4);
    this.arena.ensureBytes(this.cursor);
    return p;
  }

  /** Byte pointer of the first n floats of `a` for the kernel; staged 'in'/'inout' operands are copied in, 'out'/'inout' ones back by copyOut(). */
  place(a: Float32Array, n: number, role: 'in' | 'out' | 'inout' | 'scratch'): number {
    const at = this.arena.offsetOf(a);
    if (at >= 0) return at;
    const p = this.next(n);
    if (role === 'in' || role === 'inout') this.arena.f32.set(n === a.length ? a : a.subarray(0, n), p / 4);
    if (role === 'out' || role === 'inout') this.outs.push([a, p, n]);
    return p;
  }

  /** A scratch region of n floats (not tied to any array). */
  scratch(n: number): number {
    return this.next(n);
  }

  copyOut(): void {
    const f32 = this.arena.f32;
    for (const [a, p, n] of this.outs) a.set(f32.subarray(p / 4, p / 4 + n));
  }
}
