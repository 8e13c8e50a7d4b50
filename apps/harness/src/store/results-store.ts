import fs from 'node:fs';
import path from 'node:path';
import { NqFormatError, NqInputError } from '@nq/core';
import { sha256Hex } from '../util/canonical.js';
import type { ResultRow } from './row.js';

/**
 * The results store: one append-only JSONL file per sweep, one row per line.
 *
 * Why JSONL and not SQLite: Node 20 has no built-in SQLite, and the npm SQLite bindings either
 * download a prebuilt binary at install time or compile C++ (neither is acceptable in a fresh-clone
 * CI run). A JSONL file with one write + fsync per row is crash-safe by construction — a row is on
 * disk before the next cell starts, and a crash can only leave a torn *last* line — diffable, greppable
 * (`jq`), and a few thousand rows index in milliseconds. Queries are in-memory over the index.
 *
 * Line format: `{"sum":"<sha256(rowJson) first 16 hex>","row":<rowJson>}`. On open every line is
 * parsed and its checksum verified; a line that fails (torn write, disk corruption, hand edit) is
 * ignored and counted in `skipped`. When a writer opens the store, a torn tail (bytes after the last
 * newline) is truncated away so the next row starts on a clean line.
 *
 * A cell may have several rows (a `--force` recompute appends a new one); the index keeps the latest,
 * older ones stay in the file as history.
 */
export interface StoreOpenResult {
  /** Lines that failed to parse or verify (ignored). */
  skipped: number;
  /** Bytes of a torn tail that a writer truncated. */
  truncatedBytes: number;
}

export class ResultsStore {
  readonly file: string;
  private readonly byCell = new Map<string, ResultRow>();
  private readonly all: ResultRow[] = [];
  private fd: number | null = null;
  private lockFile: string | null = null;
  skipped = 0;
  truncatedBytes = 0;

  private constructor(file: string) {
    this.file = file;
  }

  /** Opens (creating nothing) for reading. A missing file is an empty store. */
  static openRead(file: string): ResultsStore {
    const s = new ResultsStore(path.resolve(file));
    if (fs.existsSync(s.file)) s.load(fs.readFileSync(s.file));
    return s;
  }

  /**
   * Opens for appending: takes the writer lock (`<file>.lock`, refused while another live process
   * holds it), rebuilds the index, truncates a torn tail.
   */
  static openWrite(file: string): ResultsStore {
    const s = new ResultsStore(path.resolve(file));
    fs.mkdirSync(path.dirname(s.file), { recursive: true });
    s.acquireLock();
    try {
      const existed = fs.existsSync(s.file);
      s.fd = fs.openSync(s.file, existed ? 'r+' : 'a+');
      const buf = existed ? fs.readFileSync(s.file) : Buffer.alloc(0);
      const goodEnd = s.load(buf);
      if (goodEnd < buf.length) {
        fs.ftruncateSync(s.fd, goodEnd);
        fs.fsyncSync(s.fd);
        s.truncatedBytes = buf.length - goodEnd;
      }
      fs.closeSync(s.fd);
      s.fd = fs.openSync(s.file, 'a');
      if (!existed) fsyncDir(path.dirname(s.file));
    } catch (e) {
      s.close();
      throw e;
    }
    return s;
  }

  /** Parses buf; returns the byte offset after the last newline (everything after is a torn tail). */
  private load(buf: Buffer): number {
    let start = 0;
    let lastNewline = -1;
    for (;;) {
      const nl = buf.indexOf(10, start);
      if (nl < 0) break;
      lastNewline = nl;
      const line = buf.subarray(start, nl).toString('utf8');
      start = nl + 1;
      if (line.trim() === '') continue;
      const row = parseLine(line);
      if (row) this.index(row);
      else this.skipped++;
    }
    // A non-empty tail without a newline is a torn write: never a row, even if it happens to parse.
    if (
      lastNewline + 1 < buf.length &&
      buf
        .subarray(lastNewline + 1)
        .toString('utf8')
        .trim() !== ''
    )
      this.skipped++;
    return lastNewline + 1;
  }

  private index(row: ResultRow): void {
    this.all.push(row);
    this.byCell.set(row.cell, row);
  }

  /** Appends one row and fsyncs before returning: once this returns, the row survives a crash. */
  append(row: ResultRow): void {
    if (this.fd === null)
      throw new NqInputError(
        'store',
        'is open read-only or closed',
        'Open it with ResultsStore.openWrite().',
      );
    const line = formatLine(row);
    // One write() call per line: with O_APPEND the line lands contiguously.
    fs.writeSync(this.fd, line);
    fs.fsyncSync(this.fd);
    this.index(row);
  }

  has(cell: string): boolean {
    return this.byCell.has(cell);
  }

  get(cell: string): ResultRow | undefined {
    return this.byCell.get(cell);
  }

  /** Finds the latest row whose cell id starts with `prefix`; throws if none or ambiguous. */
  find(prefix: string): ResultRow {
    const hits = [...this.byCell.keys()].filter((k) => k.startsWith(prefix));
    if (hits.length === 0) {
      throw new NqInputError(
        'row-id',
        `no row with id starting "${prefix}" in ${this.file}`,
        'List ids with `nq report <results>` (column "id").',
      );
    }
    if (hits.length > 1) {
      throw new NqInputError(
        'row-id',
        `"${prefix}" matches ${hits.length} rows (${hits.slice(0, 4).join(', ')}…)`,
        'Give more characters of the id.',
      );
    }
    return this.byCell.get(hits[0]!)!;
  }

  /** The latest row of every cell, in the order cells were first completed. */
  latest(): ResultRow[] {
    const seen = new Set<string>();
    const out: ResultRow[] = [];
    for (const r of this.all) {
      if (seen.has(r.cell)) continue;
      seen.add(r.cell);
      out.push(this.byCell.get(r.cell)!);
    }
    return out;
  }

  /** Every verified row, in file order, superseded ones included. */
  history(): readonly ResultRow[] {
    return this.all;
  }

  get size(): number {
    return this.byCell.size;
  }

  close(): void {
    if (this.fd !== null) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
    if (this.lockFile) {
      try {
        fs.unlinkSync(this.lockFile);
      } catch {
        /* already gone */
      }
      this.lockFile = null;
    }
  }

  private acquireLock(): void {
    const lock = `${this.file}.lock`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = fs.openSync(lock, 'wx');
        fs.writeSync(fd, String(process.pid));
        fs.closeSync(fd);
        this.lockFile = lock;
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const pid = Number.parseInt(fs.readFileSync(lock, 'utf8'), 10);
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
          throw new NqInputError(
            'results',
            `${this.file} is being written by process ${pid}`,
            'Wait for that sweep to finish, or stop it (Ctrl-C), or write to another --out file.',
          );
        }
        fs.unlinkSync(lock); // stale lock from a killed process
      }
    }
  }
}

export function formatLine(row: ResultRow): string {
  const rowJson = JSON.stringify(row);
  return `{"sum":"${sha256Hex(rowJson).slice(0, 16)}","row":${rowJson}}\n`;
}

/** A verified row, or null when the line is not a well-formed, checksum-matching row. */
export function parseLine(line: string): ResultRow | null {
  let obj: { sum?: unknown; row?: unknown };
  try {
    obj = JSON.parse(line);
  } catch {
    return null;
  }
  if (!obj || typeof obj.sum !== 'string' || !obj.row || typeof obj.row !== 'object') return null;
  // JSON.stringify(JSON.parse(s)) reproduces s for what JSON.stringify wrote (key order, shortest
  // round-trip numbers), so the checksum can be verified on the re-serialised row.
  if (sha256Hex(JSON.stringify(obj.row)).slice(0, 16) !== obj.sum) return null;
  const row = obj.row as ResultRow;
  if (typeof row.cell !== 'string') return null;
  return row;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  } catch {
    /* some filesystems refuse fsync on directories; the file's own fsync still holds */
  }
}

/** Throws NqFormatError if the file exists and has no verifiable row at all but is not empty. */
export function assertLooksLikeStore(file: string): void {
  if (!fs.existsSync(file))
    throw new NqInputError(
      'results',
      `${file} does not exist`,
      'Pass the .jsonl file a sweep wrote (default results/<sweep>.jsonl).',
    );
  const s = ResultsStore.openRead(file);
  if (s.size === 0 && s.skipped > 0)
    throw new NqFormatError(file, `none of its ${s.skipped} lines is a verifiable nq result row`);
}
