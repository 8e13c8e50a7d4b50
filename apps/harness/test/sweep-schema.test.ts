import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { NqInputError } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { expandGrid } from '../src/sweep/grid.js';
import { loadSweepFile, parseSweep } from '../src/sweep/load.js';
import { canonicalJson, specId } from '../src/util/canonical.js';
import { REPO, tmpDir } from './helpers.js';

const dir = tmpDir('schema');
function bad(name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  try {
    loadSweepFile(f);
  } catch (e) {
    expect(e).toBeInstanceOf(NqInputError);
    return (e as Error).message;
  }
  throw new Error(`${name} was accepted`);
}

const OK_KERNEL = 'kernel:\n  data: [docs5m-down]\n  rotations: [none]\n  act: [int4-token]\n';

describe('sweep files: precise errors', () => {
  it('names the field, the value and the allowed values for a bad rotation', () => {
    const m = bad(
      'rot.yaml',
      'name: x\nkernel:\n  data: [docs5m-down]\n  rotations: [none, bhad33]\n  act: [int4-token]\n',
    );
    expect(m).toContain('kernel.rotations[1]: "bhad33"');
    expect(m).toMatch(/allowed: none, had .*bhad<b>.*ro/);
  });

  it('lists the allowed quantizer names and data profiles', () => {
    const m = bad(
      'act.yaml',
      'name: x\nkernel:\n  data: [gpt-huge]\n  rotations: [none]\n  act: [int4-token, int16-token]\n',
    );
    expect(m).toContain('kernel.data[0]: "gpt-huge"');
    expect(m).toContain('allowed: docs5m-attn, docs5m-down, llm-outlier');
    expect(m).toContain('kernel.act[1]: "int16-token"');
    expect(m).toContain('nvfp4, mxfp4');
  });

  it('names unknown fields and the fields that are allowed there', () => {
    const m = bad('keys.yaml', `name: x\nseed: 3\n${OK_KERNEL}  rotation: [had]\n`);
    expect(m).toContain('(top level): unknown field(s) "seed"');
    expect(m).toMatch(/allowed: name, description, kind, hypothesis, verdict, seeds, kernel, layers, model/);
    expect(m).toContain(
      'kernel: unknown field(s) "rotation"; allowed: data, rotations, act, weight, tokens, channels, out',
    );
  });

  it('reports wrong types, missing fields, and enum values with what is allowed', () => {
    const m = bad('types.yaml', `seeds: [1, two]\nkind: study\n${OK_KERNEL}`);
    expect(m).toContain('name: missing');
    expect(m).toContain('seeds[1]: "two"');
    expect(m).toContain('kind: "study" — allowed: "experiment", "baseline"');
  });

  it('checks rules across fields: a study is required, blocks fit the channels, a verdict needs a hypothesis', () => {
    expect(bad('empty.yaml', 'name: x\n')).toContain(
      'a sweep needs a kernel, layers or model study (or several)',
    );
    expect(
      bad(
        'block.yaml',
        'name: x\nkernel:\n  data: [docs5m-down]\n  rotations: [bhad512]\n  act: [int4-token]\n  channels: 256\n',
      ),
    ).toContain('kernel.rotations[0]: "bhad512" — block 512 does not divide channels (256)');
    expect(
      bad(
        'verdict.yaml',
        `name: x\nverdict: { metric: act_rel_mse, baseline: { rotation: none }, treatment: { rotation: had } }\n${OK_KERNEL}`,
      ),
    ).toContain('hypothesis');
    expect(bad('size.yaml', `name: x\n${OK_KERNEL}  channels: 50\n`)).toContain(
      'kernel.channels: 50 — channels must be a Hadamard size @nq/hadamard supports',
    );
  });

  it('reports YAML syntax errors and non-mapping files', () => {
    expect(bad('syntax.yaml', 'name: x\nkernel: [unclosed\n')).toMatch(/is not valid YAML/);
    expect(bad('list.json', '[1, 2]')).toMatch(/must be a mapping/);
    expect(() => loadSweepFile(path.join(dir, 'missing.yaml'))).toThrow(/does not exist/);
  });

  it('accepts every named sweep shipped in sweeps/', () => {
    const files = fs.readdirSync(path.join(REPO, 'sweeps')).filter((f) => f.endsWith('.yaml'));
    expect(files).toContain('default.yaml');
    for (const f of files) {
      const s = loadSweepFile(path.join(REPO, 'sweeps', f));
      expect(`${s.name}.yaml`).toBe(f);
      if (s.kind === 'experiment') {
        expect(s.hypothesis, `${f} needs a hypothesis`).toBeTruthy();
        expect(s.verdict, `${f} needs a verdict rule`).toBeTruthy();
      }
    }
  });
});

describe('grid and cell ids', () => {
  it('expands data × rotations × act × weight × seeds', () => {
    const s = parseSweep({
      name: 'g',
      seeds: [0, 5],
      kernel: {
        data: ['docs5m-down', 'llm-outlier'],
        rotations: ['none', 'ro', 'bhad32'],
        act: ['int4-token', 'none'],
        weight: ['none', 'rtn-int4-row'],
      },
    });
    const g = expandGrid(s);
    expect(g.cells).toHaveLength(2 * 2 * 3 * 2 * 2);
    expect(new Set(g.cells.map((c) => c.id)).size).toBe(g.cells.length);
    const c = g.cells.find((x) => x.spec.study === 'kernel' && x.spec.rotation.name === 'bhad32')!;
    expect(c.spec.study === 'kernel' && c.spec.rotation.spec).toEqual({ kind: 'block-hadamard', block: 32 });
  });

  it('id = first 16 hex of sha256 over key-sorted JSON, independent of key order', () => {
    const a = { b: 1, a: [{ y: 2, x: 'q' }] };
    const expected = createHash('sha256').update('{"a":[{"x":"q","y":2}],"b":1}').digest('hex').slice(0, 16);
    expect(canonicalJson(a)).toBe('{"a":[{"x":"q","y":2}],"b":1}');
    expect(specId(a)).toBe(expected);
    expect(specId({ a: [{ x: 'q', y: 2 }], b: 1 })).toBe(expected);
    expect(specId({ a: [{ x: 'q', y: 2 }], b: 2 })).not.toBe(expected);
  });

  it('gives the same ids on every expansion (stable across runs)', () => {
    const s = loadSweepFile(path.join(REPO, 'sweeps/rotation-vs-none-int8.yaml'));
    expect(expandGrid(s).cells.map((c) => c.id)).toEqual(expandGrid(s).cells.map((c) => c.id));
  });
});
