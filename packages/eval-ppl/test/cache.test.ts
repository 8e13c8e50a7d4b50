import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NqFormatError, Rng } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { readRefFile, writeRefFile } from '../src/cache/ref-file.js';
import { RefBuilder, type RefStorage } from '../src/stats/reference.js';

function build(storage: RefStorage, positions = 7, vocab = 50) {
  const logits = new Rng(1).normals(positions * vocab, 0, 3);
  const b = new RefBuilder(vocab, positions, storage);
  for (let p = 0; p < positions; p++) b.add(logits, p * vocab, p % vocab);
  return b.ref;
}

describe('reference log-prob file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nq-ref-'));

  for (const storage of [{ kind: 'full' }, { kind: 'topk', k: 5 }] as RefStorage[]) {
    it(`round-trips ${storage.kind} storage exactly and leaves no temporary file`, () => {
      const ref = build(storage);
      const file = path.join(dir, `${storage.kind}.nqlp`);
      writeRefFile(file, ref, 'key-1', { note: 'test' });
      expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
      const back = readRefFile(file, 'key-1');
      expect(back.manifest.meta).toEqual({ note: 'test' });
      expect(back.ref).toEqual(ref);
    });
  }

  it('rejects truncated, foreign and mismatched files with NqFormatError', () => {
    const file = path.join(dir, 'x.nqlp');
    writeRefFile(file, build({ kind: 'topk', k: 3 }), 'key-2', {});
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 9));
    expect(() => readRefFile(file)).toThrow(NqFormatError);
    fs.writeFileSync(file, Buffer.concat([bytes, Buffer.from([0])]));
    expect(() => readRefFile(file)).toThrow(/size/);
    fs.writeFileSync(file, bytes);
    expect(() => readRefFile(file, 'other-key')).toThrow(/key/);
    fs.writeFileSync(file, 'hello world, not a cache file');
    expect(() => readRefFile(file)).toThrow(/magic/);
  });
});
