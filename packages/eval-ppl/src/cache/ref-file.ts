import fs from 'node:fs';
import path from 'node:path';
import { NqFormatError } from '@nq/core';
import type { RefLogprobs, RefStorage } from '../stats/reference.js';

/*
 * On-disk reference log-probabilities (`*.nqlp`):
 *   "NQREFLP1"                      8-byte magic
 *   uint32 LE M                     manifest length
 *   M bytes of JSON manifest        { format, version, key, vocab, positions, storage, meta }
 *   zero padding to a multiple of 8
 *   float64[P]   targetLogp         log p_fp(target) of each scored position
 *   uint32[P]    top1               (+ 4 bytes of padding when P is odd)
 *   full:  float32[P·V] logp
 *   topk:  uint32[P·k] topIdx, float32[P·k] topLogp (+ padding to 8), float64[P] restLogMass
 *   "NQLPEND\0"                     8-byte end marker
 * All little-endian. Written to a temporary file in the same folder, fsynced, then renamed, so a
 * killed run leaves either no file or a complete one; a reader checks the exact length and the end
 * marker and rejects anything else with NqFormatError.
 */
const MAGIC = Buffer.from('NQREFLP1', 'latin1');
const END = Buffer.from('NQLPEND\0', 'latin1');
const FORMAT = 'nq-ref-logprobs';
const VERSION = 1;

export interface RefManifest {
  format: typeof FORMAT;
  version: number;
  key: string;
  vocab: number;
  positions: number;
  storage: RefStorage;
  /** What the key was made of (hashes, protocol), for humans reading the file. */
  meta: Record<string, unknown>;
}

const pad8 = (n: number) => (8 - (n % 8)) % 8;

function sections(ref: RefLogprobs): ArrayBufferView[] {
  const P = ref.positions;
  const out: ArrayBufferView[] = [ref.targetLogp, ref.top1];
  if (P % 2 === 1) out.push(new Uint8Array(4));
  if (ref.storage.kind === 'full') {
    out.push(ref.logp!);
  } else {
    out.push(ref.topIdx!, ref.topLogp!);
    const n = ref.topIdx!.byteLength + ref.topLogp!.byteLength;
    if (n % 8) out.push(new Uint8Array(pad8(n)));
    out.push(ref.restLogMass!);
  }
  return out;
}

/** Writes atomically (tmp + fsync + rename). */
export function writeRefFile(
  file: string,
  ref: RefLogprobs,
  key: string,
  meta: Record<string, unknown>,
): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const manifest: RefManifest = {
    format: FORMAT,
    version: VERSION,
    key,
    vocab: ref.vocab,
    positions: ref.positions,
    storage: ref.storage,
    meta,
  };
  const json = Buffer.from(JSON.stringify(manifest), 'utf8');
  const head = Buffer.alloc(12);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(json.length, 8);
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, head);
    fs.writeSync(fd, json);
    fs.writeSync(fd, Buffer.alloc(pad8(12 + json.length)));
    for (const s of sections(ref)) {
      // Large arrays in slices: writeSync of > 2 GB at once is not portable.
      const bytes = new Uint8Array(s.buffer, s.byteOffset, s.byteLength);
      for (let o = 0; o < bytes.length; o += 1 << 28)
        fs.writeSync(fd, bytes.subarray(o, Math.min(bytes.length, o + (1 << 28))));
    }
    fs.writeSync(fd, END);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}

/** Reads and validates a reference file; `expectKey` guards against a renamed or foreign file. */
export function readRefFile(file: string, expectKey?: string): { ref: RefLogprobs; manifest: RefManifest } {
  const buf = fs.readFileSync(file);
  const bad = (why: string) =>
    new NqFormatError(file, `${why}; delete the file and the reference is recomputed`);
  if (buf.length < 20 || !buf.subarray(0, 8).equals(MAGIC))
    throw bad('not an nq reference log-prob file (bad magic)');
  const m = buf.readUInt32LE(8);
  if (12 + m > buf.length) throw bad('truncated manifest');
  let manifest: RefManifest;
  try {
    manifest = JSON.parse(buf.subarray(12, 12 + m).toString('utf8')) as RefManifest;
  } catch (e) {
    throw new NqFormatError(file, 'manifest is not valid JSON', { cause: e });
  }
  if (manifest.format !== FORMAT || manifest.version !== VERSION)
    throw bad(`unsupported format ${manifest.format} v${manifest.version}`);
  if (expectKey !== undefined && manifest.key !== expectKey)
    throw bad(`key ${manifest.key} does not match the expected ${expectKey}`);
  const { vocab: V, positions: P, storage } = manifest;
  if (!Number.isInteger(V) || !Number.isInteger(P) || V < 1 || P < 0)
    throw bad('bad vocab/positions in manifest');
  if (
    !(storage?.kind === 'full' || (storage?.kind === 'topk' && Number.isInteger(storage.k) && storage.k >= 1))
  )
    throw bad('bad storage in manifest');
  let off = 12 + m + pad8(12 + m);
  const take = <T>(
    ctor: { new (b: ArrayBuffer, o: number, n: number): T; BYTES_PER_ELEMENT: number },
    n: number,
  ): T => {
    const bytes = n * ctor.BYTES_PER_ELEMENT;
    if (off + bytes > buf.length) throw bad('truncated payload');
    // Copy into a fresh, aligned buffer (a Buffer's byteOffset need not be aligned).
    const ab = new ArrayBuffer(bytes);
    new Uint8Array(ab).set(buf.subarray(off, off + bytes));
    off += bytes;
    return new ctor(ab, 0, n);
  };
  const ref: RefLogprobs = {
    vocab: V,
    positions: P,
    storage,
    targetLogp: take(Float64Array, P),
    top1: take(Uint32Array, P),
  };
  if (P % 2 === 1) off += 4;
  if (storage.kind === 'full') {
    ref.logp = take(Float32Array, P * V);
  } else {
    ref.topIdx = take(Uint32Array, P * storage.k);
    ref.topLogp = take(Float32Array, P * storage.k);
    off += pad8(2 * 4 * P * storage.k);
    ref.restLogMass = take(Float64Array, P);
  }
  if (off + 8 !== buf.length || !buf.subarray(off, off + 8).equals(END))
    throw bad(`size ${buf.length} does not match the manifest (expected ${off + 8})`);
  return { ref, manifest };
}
