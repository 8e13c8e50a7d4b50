// Positioned reads from a file or an in-memory buffer: the reader never loads a whole model file,
// it reads the header in chunks and each tensor's bytes where they lie.
import fs from 'node:fs';

export interface ByteSource {
  /** Name used in error messages (the path). */
  readonly name: string;
  readonly size: number;
  /** Exactly len bytes from pos (caller guarantees pos + len ≤ size). */
  read(pos: number, len: number): Uint8Array;
  close(): void;
}

export function bufferSource(bytes: Uint8Array, name = '<buffer>'): ByteSource {
  return {
    name,
    size: bytes.length,
    read: (pos, len) => bytes.subarray(pos, pos + len),
    close: () => {},
  };
}

export function fileSource(path: string): ByteSource {
  const fd = fs.openSync(path, 'r');
  const size = fs.fstatSync(fd).size;
  let closed = false;
  return {
    name: path,
    size,
    read(pos, len) {
      const out = new Uint8Array(len);
      let done = 0;
      while (done < len) {
        const n = fs.readSync(fd, out, done, len - done, pos + done);
        if (n <= 0) throw new Error(`${path}: short read at ${pos + done}`);
        done += n;
      }
      return out;
    },
    close() {
      if (!closed) fs.closeSync(fd);
      closed = true;
    },
  };
}
