// A growable Int32Array: token ids are appended one at a time without boxing them in a JS array.

export class IdBuffer {
  data: Int32Array;
  length = 0;

  constructor(capacity = 64) {
    this.data = new Int32Array(Math.max(16, capacity));
  }

  private grow(min: number): void {
    const next = new Int32Array(Math.max(min, this.data.length * 2));
    next.set(this.data.subarray(0, this.length));
    this.data = next;
  }

  push(id: number): void {
    if (this.length === this.data.length) this.grow(this.length + 1);
    this.data[this.length++] = id;
  }

  append(ids: Int32Array, from = 0): void {
    const n = ids.length - from;
    if (n <= 0) return;
    if (this.length + n > this.data.length) this.grow(this.length + n);
    this.data.set(from === 0 ? ids : ids.subarray(from), this.length);
    this.length += n;
  }

  last(): number {
    return this.length > 0 ? (this.data[this.length - 1] as number) : -1;
  }

  clear(): void {
    this.length = 0;
  }

  /** A right-sized copy. */
  toInt32Array(): Int32Array {
    return this.data.slice(0, this.length);
  }
}
