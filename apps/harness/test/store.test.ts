import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatLine, parseLine, ResultsStore } from '../src/store/results-store.js';
import type { ResultRow } from '../src/store/row.js';
import { tmpDir } from './helpers.js';

function row(cell: string, value: number): ResultRow {
  return {
    v: 1,
    cell,
    sweep: 'test',
    spec: { v: 1, study: 'model', model: 'm', text: 't', recipe: 'fp', ctx: 8, windows: 1, seed: 0 },
    labels: { cell },
    metrics: { x: value, tiny: 1e-300, neg: -0.1 },
    timings: {},
    provenance: {
      git: 'g',
      packages: {},
      node: 'v',
      platform: 'p',
      cpu: 'c',
      backend: 'cpu',
      seeds: {},
      files: {},
    },
    created: '2020-01-01T00:00:00.000Z',
  };
}

describe('results store (JSONL + per-line checksum)', () => {
  it('round-trips rows exactly and indexes them by cell', () => {
    const f = path.join(tmpDir('store'), 'r.jsonl');
    const s = ResultsStore.openWrite(f);
    s.append(row('a', 0.1 + 0.2));
    s.append(row('b', Math.PI));
    s.close();
    const r = ResultsStore.openRead(f);
    expect(r.size).toBe(2);
    expect(r.get('a')!.metrics.x).toBe(0.1 + 0.2);
    expect(r.get('b')!.metrics.x).toBe(Math.PI);
    expect(r.skipped).toBe(0);
    // Every line is standalone JSON (jq-friendly) with a checksum over the row.
    for (const line of fs.readFileSync(f, 'utf8').trim().split('\n'))
      expect(JSON.parse(line).sum).toMatch(/^[0-9a-f]{16}$/);
  });

  it('ignores a torn last line and a writer truncates it', () => {
    const f = path.join(tmpDir('torn'), 'r.jsonl');
    const good = formatLine(row('a', 1));
    const torn = formatLine(row('b', 2)).slice(0, 57); // a write cut short by a crash
    fs.writeFileSync(f, good + torn);
    const r = ResultsStore.openRead(f);
    expect(r.size).toBe(1);
    expect(r.skipped).toBe(1);
    const w = ResultsStore.openWrite(f);
    expect(w.truncatedBytes).toBe(torn.length);
    w.append(row('b', 2));
    w.close();
    const again = ResultsStore.openRead(f);
    expect(again.size).toBe(2);
    expect(again.skipped).toBe(0);
    expect(fs.readFileSync(f, 'utf8')).toBe(good + formatLine(row('b', 2)));
  });

  it('rejects a line whose checksum does not match (corruption or hand edit)', () => {
    const line = formatLine(row('a', 1));
    expect(parseLine(line.trimEnd())).not.toBeNull();
    const edited = line.replace('"x":1', '"x":2');
    expect(edited).not.toBe(line);
    expect(parseLine(edited.trimEnd())).toBeNull();
    const f = path.join(tmpDir('corrupt'), 'r.jsonl');
    fs.writeFileSync(f, edited + formatLine(row('b', 3)));
    const r = ResultsStore.openRead(f);
    expect(r.has('a')).toBe(false);
    expect(r.has('b')).toBe(true);
    expect(r.skipped).toBe(1);
  });

  it('keeps the latest row of a recomputed cell, the older one as history', () => {
    const f = path.join(tmpDir('force'), 'r.jsonl');
    const s = ResultsStore.openWrite(f);
    s.append(row('a', 1));
    s.append(row('b', 2));
    s.append(row('a', 3));
    s.close();
    const r = ResultsStore.openRead(f);
    expect(r.latest().map((x) => [x.cell, x.metrics.x])).toEqual([
      ['a', 3],
      ['b', 2],
    ]);
    expect(r.history()).toHaveLength(3);
    expect(r.find('b').metrics.x).toBe(2);
    expect(() => r.find('z')).toThrow(/no row with id starting "z"/);
  });

  it('refuses a second writer while a live process holds the lock, and takes over a stale lock', () => {
    const f = path.join(tmpDir('lock'), 'r.jsonl');
    fs.writeFileSync(`${f}.lock`, String(process.ppid)); // a live process that is not us
    expect(() => ResultsStore.openWrite(f)).toThrow(/being written by process/);
    fs.writeFileSync(`${f}.lock`, '999999999'); // no such process
    const s = ResultsStore.openWrite(f);
    s.append(row('a', 1));
    s.close();
    expect(fs.existsSync(`${f}.lock`)).toBe(false);
  });
});
