import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  hasShared,
  missingShared,
  SHARED_ENV,
  sharedDir,
  sharedModelFiles,
  sharedPath,
} from '@nq/core/testing';
import { afterEach, describe, expect, it } from 'vitest';

// Expected locations are derived independently from this test file's own position: packages/core/test
// is three levels below the repository root, and the shared directory is ../shared from that root.
const repoRoot = path.resolve(import.meta.dirname, '../../..');
const expectedShared = path.resolve(repoRoot, '../shared');

describe('shared test files helper', () => {
  const saved = process.env[SHARED_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[SHARED_ENV];
    else process.env[SHARED_ENV] = saved;
  });

  it('resolves ../shared beside the repository root, or $NQ_SHARED when set', () => {
    delete process.env[SHARED_ENV];
    expect(sharedDir()).toBe(expectedShared);
    expect(sharedPath('data', 'docs-calib.txt')).toBe(path.join(expectedShared, 'data', 'docs-calib.txt'));
    process.env[SHARED_ENV] = '/tmp/somewhere/else';
    expect(sharedDir()).toBe('/tmp/somewhere/else');
    expect(sharedModelFiles('m').bin).toBe('/tmp/somewhere/else/models/m/m.bin');
  });

  it('names the files of a shared model directory', () => {
    delete process.env[SHARED_ENV];
    const f = sharedModelFiles();
    const dir = path.join(expectedShared, 'models', 'nq-docs-5M');
    expect(f.dir).toBe(dir);
    expect(f.bin).toBe(path.join(dir, 'nq-docs-5M.bin'));
    expect(f.tokenizer).toBe(path.join(dir, 'tok4096.model'));
    expect(f.validIds).toBe(path.join(dir, 'tok4096.docs-valid.ids.npy'));
    expect(f.refJson).toBe(path.join(dir, 'nq-docs-5M.ref.json'));
    expect(sharedModelFiles('nq-docs-d64l2').refLogits).toBe(
      path.join(expectedShared, 'models', 'nq-docs-d64l2', 'nq-docs-d64l2.ref-logits.npy'),
    );
  });

  it('reports missing files by name and present ones as no reason', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nq-core-shared-'));
    try {
      const present = path.join(dir, 'present.bin');
      const absent = path.join(dir, 'absent.bin');
      fs.writeFileSync(present, 'x');
      expect(missingShared(present)).toBe('');
      expect(hasShared(present)).toBe(true);
      expect(hasShared()).toBe(true);
      const reason = missingShared(present, absent);
      expect(reason).toContain(absent);
      expect(reason).not.toContain(present);
      expect(reason).toContain(SHARED_ENV);
      expect(hasShared(present, absent)).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!fs.existsSync(expectedShared))(
    'finds the real nq-docs-5M files when ../shared is present',
    () => {
      delete process.env[SHARED_ENV];
      const f = sharedModelFiles();
      expect(
        missingShared(f.bin, f.tokenizer, f.safetensors, f.refJson, f.refLogits, f.validIds, f.ggufQ8),
      ).toBe('');
    },
  );
});
