import fs from 'node:fs';
import path from 'node:path';
import { NqInputError } from '@nq/core';
import YAML from 'yaml';
import type { z } from 'zod';
import { checkRecipe } from '../studies/model-study.js';
import { type Sweep, SweepSchema } from './schema.js';

/**
 * Reads a sweep file (.yaml/.yml/.json), validates it and returns the typed sweep. Every problem is
 * reported at once, one per line: `<field path>: <value found> — <what is allowed>`, as an
 * NqInputError whose argument is the file.
 */
export function loadSweepFile(file: string): Sweep {
  if (!fs.existsSync(file)) {
    throw new NqInputError(
      'config',
      `${file} does not exist`,
      'Pass a sweep file (.yaml or .json), or a name from sweeps/ (see `nq sweep --list`).',
    );
  }
  const text = fs.readFileSync(file, 'utf8');
  let raw: unknown;
  try {
    raw = /\.json$/i.test(file) ? JSON.parse(text) : YAML.parse(text, { prettyErrors: true });
  } catch (e) {
    throw new NqInputError(
      file,
      `is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(e as Error).message}`,
      'Fix the syntax.',
    );
  }
  return parseSweep(raw, file);
}

export function parseSweep(raw: unknown, source = 'sweep'): Sweep {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new NqInputError(
      source,
      'must be a mapping (name:, kernel: / model:, …) at the top level',
      'See sweeps/default.yaml for the shape.',
    );
  }
  const r = SweepSchema.safeParse(raw);
  const lines = r.success ? modelRecipeIssues(r.data) : r.error.issues.map((iss) => formatIssue(iss, raw));
  if (r.success && lines.length === 0) return r.data;
  throw new NqInputError(
    path.basename(source),
    `invalid sweep file:\n  ${lines.join('\n  ')}`,
    'Fix the fields above (docs: apps/harness/README.md "Sweep files").',
  );
}

/** Model recipes are checked against the catalog (techniques/model-methods.ts) at load time. */
function modelRecipeIssues(s: Sweep): string[] {
  const out: string[] = [];
  s.model?.recipes.forEach((rec, i) => {
    try {
      checkRecipe(rec);
    } catch (e) {
      out.push(`model.recipes[${i}]: ${show(rec)} — ${(e as Error).message.replace(/^recipe: /, '')}`);
    }
  });
  return out;
}

function formatIssue(iss: z.core.$ZodIssue, raw: unknown): string {
  const where = iss.path.length
    ? iss.path
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
        .join('')
        .replace(/^\./, '')
    : '(top level)';
  const found = valueAt(raw, iss.path);
  let msg = iss.message;
  if (iss.code === 'unrecognized_keys') {
    msg = `unknown field(s) ${iss.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    const allowed = allowedKeysAt(iss.path);
    if (allowed) msg += `; allowed: ${allowed.join(', ')}`;
    return `${where}: ${msg}`;
  }
  if (iss.code === 'invalid_value') msg = `allowed: ${iss.values.map((v) => JSON.stringify(v)).join(', ')}`;
  if (iss.code === 'invalid_type' && found === undefined)
    return `${where}: missing (${iss.expected} required)`;
  return `${where}: ${show(found)} — ${msg}`;
}

function show(v: unknown): string {
  if (v === undefined) return '(missing)';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

function valueAt(raw: unknown, p: readonly PropertyKey[]): unknown {
  let v: unknown = raw;
  for (const k of p) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

function allowedKeysAt(p: readonly PropertyKey[]): string[] | null {
  // Walk the schema's shape along the path to list the keys a mapping may have.
  // biome-ignore lint/suspicious/noExplicitAny: walking zod internals by shape
  let s: any = SweepSchema;
  for (const k of p) {
    s = unwrap(s);
    if (typeof k === 'number') s = s?.def?.element;
    else s = s?.shape?.[k as string];
  }
  s = unwrap(s);
  return s?.shape ? Object.keys(s.shape) : null;
}

// biome-ignore lint/suspicious/noExplicitAny: zod internals
function unwrap(s: any): any {
  for (let i = 0; i < 8 && s; i++) {
    if (s.shape) return s;
    s = s.def?.innerType ?? s.def?.in ?? s.def?.schema ?? null;
  }
  return s;
}
