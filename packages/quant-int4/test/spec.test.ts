import { NqInputError, NqUnsupportedError } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { clipSearchRatios, parseQuantSpec } from '../src/spec.js';

describe('parseQuantSpec', () => {
  it('fills defaults and is idempotent (a resolved spec parses to itself)', () => {
    const s = parseQuantSpec({ format: 'int' });
    expect(s).toEqual({
      version: 1,
      format: 'int',
      bits: 4,
      granularity: 'group',
      groupSize: 128,
      symmetric: true,
      clipRatio: 1,
      clipSearch: null,
    });
    expect(parseQuantSpec(s)).toEqual(s);
    expect(parseQuantSpec(JSON.parse(JSON.stringify(s)))).toEqual(s);
    const t = parseQuantSpec({ format: 'int', bits: 8, granularity: 'token' });
    expect(t.groupSize).toBe(0);
    expect(parseQuantSpec({ format: 'nvfp4' })).toMatchObject({
      granularity: 'group',
      groupSize: 16,
      bits: 4,
    });
    expect(parseQuantSpec({ format: 'mxfp4' })).toMatchObject({
      granularity: 'group',
      groupSize: 32,
      bits: 4,
    });
    expect(parseQuantSpec({ format: 'fp8_e4m3' })).toMatchObject({ granularity: 'tensor', bits: 8 });
    expect(parseQuantSpec({ format: 'int', clipSearch: true }).clipSearch).toEqual({
      grid: 100,
      maxShrink: 0.8,
      norm: 2.4,
    });
  });

  it('rejects bad fields with NqInputError naming the field', () => {
    const bad: [unknown, string][] = [
      [null, 'spec'],
      [{ format: 'int4' }, 'spec.format'],
      [{ format: 'int', bits: 1 }, 'spec.bits'],
      [{ format: 'int', bits: 9 }, 'spec.bits'],
      [{ format: 'int', bits: 4.5 }, 'spec.bits'],
      [{ format: 'int', bits: '4' }, 'spec.bits'],
      [{ format: 'fp8_e4m3', bits: 4 }, 'spec.bits'],
      [{ format: 'int', granularity: 'row' }, 'spec.granularity'],
      [{ format: 'int', granularity: 'group', groupSize: 0 }, 'spec.groupSize'],
      [{ format: 'int', granularity: 'token', groupSize: 64 }, 'spec.groupSize'],
      [{ format: 'int', clipRatio: 0 }, 'spec.clipRatio'],
      [{ format: 'int', clipRatio: 1.5 }, 'spec.clipRatio'],
      [{ format: 'int', clipSearch: { grid: 0 } }, 'spec.clipSearch.grid'],
      [{ format: 'int', clipSearch: { maxShrink: 1 } }, 'spec.clipSearch.maxShrink'],
      [{ format: 'int', clipSearch: { foo: 1 } }, 'spec.clipSearch.foo'],
      [{ format: 'int', symmetric: 'yes' }, 'spec.symmetric'],
      [{ format: 'int', bitz: 4 }, 'spec.bitz'],
      [{ format: 'nvfp4', groupSize: 32 }, 'spec.granularity'],
      [{ format: 'mxfp4', granularity: 'token' }, 'spec.granularity'],
    ];
    for (const [spec, arg] of bad) {
      let err: unknown;
      try {
        parseQuantSpec(spec);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(spec)).toBeInstanceOf(NqInputError);
      expect((err as NqInputError).argument).toBe(arg);
    }
  });

  it('rejects unsupported combinations with NqUnsupportedError', () => {
    expect(() => parseQuantSpec({ format: 'fp8_e4m3', symmetric: false })).toThrow(NqUnsupportedError);
    expect(() => parseQuantSpec({ format: 'nvfp4', clipSearch: true })).toThrow(NqUnsupportedError);
    expect(() => parseQuantSpec({ version: 2, format: 'int' })).toThrow(NqUnsupportedError);
  });

  it("clip search ratios are QuaRot's 1 − i/grid for i < maxShrink·grid", () => {
    const r = clipSearchRatios({ grid: 100, maxShrink: 0.8, norm: 2.4 });
    expect(r.length).toBe(80);
    expect(r[0]).toBe(1);
    expect(r[79]).toBeCloseTo(0.21, 12);
    expect(Array.from(clipSearchRatios({ grid: 4, maxShrink: 0.5, norm: 2 }))).toEqual([1, 0.75]);
  });
});
