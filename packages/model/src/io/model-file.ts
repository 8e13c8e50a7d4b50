import fs from 'node:fs';
import { NqFormatError, NqInputError } from '@nq/core';

/**
 * Random-access reads of a model file without loading it whole: loaders validate headers and sizes
 * first and only then read each tensor straight into its own Float32Array (no 2 GB Buffer limit, no
 * copy of the whole file). Every read is bounds-checked against the file size, so a lying header
 * becomes an NqFormatError, never a short read of garbage.
 */
export class ModelFile {
  readonly path: string;
  readonly size: number;
  private fd: number;

  private constructor(path: string, fd: number, size: number) {
    this.path = path;
    this.fd = fd;
    this.size = size;
  }

  static open(path: string, argument = 'path'): ModelFile {
    if (typeof path !== 'string' || path.length === 0) {
      throw new NqInputError(
        argument,
        `must be a file path, got ${String(path)}`,
        'Pass the path of a model file.',
      );
    }
    let fd: number;
    try {
      fd = fs.openSync(path, 'r');
    } catch (e) {
      throw new NqInputError(
        argument,
        `cannot open ${path} (${(e as Error).message})`,
        'Check that the file exists and is readable.',
        { cause: e },
      );
    }
    const st = fs.fstatSync(fd);
    if (!st.isFile()) {
      fs.closeSync(fd);
      throw new NqInputError(
        argument,
        `${path} is not a regular file`,
        'Pass the path of a model file, not a directory.',
      );
    }
    return new ModelFile(path, fd, st.size);
  }

  /** `length` bytes at `offset`, or NqFormatError naming `what` if the file is too short. */
  bytes(offset: number, length: number, what: string): Uint8Array {
    this.checkRange(offset, length, what);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.fd, out, done, length - done, offset + done);
      if (n <= 0) throw new NqFormatError(this.path, `unexpected end of file while reading ${what}`);
      done += n;
    }
    return out;
  }

  /** `count` little-endian float32 values at `offset`, read straight into a fresh Float32Array. */
  f32(offset: number, count: number, what: string): Float32Array {
    const out = new Float32Array(count);
    this.into(out, offset, what);
    return out;
  }

  /** Fills `out` (any typed array) with the bytes at `offset`. */
  into(out: ArrayBufferView, offset: number, what: string): void {
    const u8 = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    this.checkRange(offset, u8.length, what);
    let done = 0;
    while (done < u8.length) {
      const n = fs.readSync(this.fd, u8, done, u8.length - done, offset + done);
      if (n <= 0) throw new NqFormatError(this.path, `unexpected end of file while reading ${what}`);
      done += n;
    }
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }

  private checkRange(offset: number, length: number, what: string): void {
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset + length > this.size
    ) {
      throw new NqFormatError(
        this.path,
        `${what} needs bytes [${offset}, ${offset + length}) but the file has ${this.size} bytes (truncated or corrupt)`,
      );
    }
  }
}

/** Float32Array views assume the host is little-endian, as every file format here is. */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
