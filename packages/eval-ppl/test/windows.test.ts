import { NqInputError } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { makeWindows, totalScored } from '../src/windows.js';

describe('window protocol', () => {
  it('non-overlapping windows reproduce the reference counts in the models README', () => {
    // docs-valid: 230,237 tokens → 899 windows, 229,245 scored; WikiText-2 test: 523,174 → 2043, 520,965.
    const a = makeWindows(230_237, { ctx: 256 });
    expect(a.length).toBe(899);
    expect(totalScored(a)).toBe(229_245);
    const b = makeWindows(523_174, { ctx: 256 });
    expect(b.length).toBe(2043);
    expect(totalScored(b)).toBe(520_965);
    expect(b[1]).toEqual({ start: 256, length: 256, scoreFrom: 0 });
  });

  it('sliding windows score every token after the first window exactly once', () => {
    const n = 1000;
    const ctx = 64;
    const stride = 16;
    const w = makeWindows(n, { ctx, stride });
    const seen = new Uint8Array(n);
    for (const x of w) for (let j = x.scoreFrom; j < x.length - 1; j++) seen[x.start + j + 1]!++;
    const lastEnd = w.at(-1)!.start + ctx;
    for (let t = 1; t < lastEnd; t++) expect(seen[t]).toBe(1);
    expect(seen[0]).toBe(0);
    // every later window's scored tokens have ≥ ctx − stride tokens of context
    for (const x of w.slice(1)) expect(x.scoreFrom + 1).toBe(ctx - stride);
  });

  it('maxWindows keeps the first N', () => {
    expect(makeWindows(10_000, { ctx: 256, maxWindows: 3 }).map((w) => w.start)).toEqual([0, 256, 512]);
  });

  it('bad arguments are typed errors naming the argument', () => {
    expect(() => makeWindows(100, { ctx: 1 })).toThrow(/ctx/);
    expect(() => makeWindows(100, { ctx: 10, stride: 11 })).toThrow(NqInputError);
    expect(() => makeWindows(5, { ctx: 10 })).toThrow(/text/);
    expect(() => makeWindows(100, { ctx: 10, maxWindows: 0 })).toThrow(/windows/);
  });
});

describe('spread window selection', () => {
  it('picks N windows evenly over the text', () => {
    const w = makeWindows(10 * 256 + 17, { ctx: 256, maxWindows: 4, select: 'spread' });
    expect(w.map((x) => x.start / 256)).toEqual([0, 2, 5, 7]);
    expect(() => makeWindows(5000, { ctx: 256, stride: 128, select: 'spread' })).toThrow(/spread/);
  });
});
