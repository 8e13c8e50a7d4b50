import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | null = null;

/**
 * The repository root: the nearest folder above this module (src/ or the built dist/) holding
 * pnpm-workspace.yaml; else the current directory. Sweep names, the shared data and the git commit
 * are resolved from here, so `nq` works from any working directory.
 */
export function repoRoot(): string {
  if (cachedRoot) return cachedRoot;
  for (const start of [path.dirname(fileURLToPath(import.meta.url)), process.cwd()]) {
    let d = start;
    for (let i = 0; i < 10; i++) {
      if (fs.existsSync(path.join(d, 'pnpm-workspace.yaml')) && fs.existsSync(path.join(d, 'apps'))) {
        cachedRoot = d;
        return d;
      }
      const up = path.dirname(d);
      if (up === d) break;
      d = up;
    }
  }
  cachedRoot = process.cwd();
  return cachedRoot;
}

/** ../shared from the repo root (NQ_SHARED overrides). */
export function sharedDir(): string {
  return process.env.NQ_SHARED ? path.resolve(process.env.NQ_SHARED) : path.resolve(repoRoot(), '../shared');
}

/** Where models are looked for: NQ_MODELS, else ../shared/models. */
export function modelsDir(): string {
  return process.env.NQ_MODELS ? path.resolve(process.env.NQ_MODELS) : path.join(sharedDir(), 'models');
}

/** The folder of named sweep files. */
export function sweepsDir(): string {
  return path.join(repoRoot(), 'sweeps');
}

/** Default results folder: <repo>/results (git-ignored). */
export function resultsDir(): string {
  return path.join(repoRoot(), 'results');
}

/**
 * A path as stored in a row: relative to the repo's parent folder when it lies under it (so
 * `shared/models/x.bin` means the same file on every checkout laid out like CI), else absolute.
 */
export function portablePath(p: string): string {
  const abs = path.resolve(p);
  const base = path.dirname(repoRoot());
  const rel = path.relative(base, abs);
  return rel.startsWith('..') || path.isAbsolute(rel) ? abs : rel.split(path.sep).join('/');
}

export function resolvePortable(p: string): string {
  return path.isAbsolute(p) ? p : path.resolve(path.dirname(repoRoot()), p);
}

/**
 * The tokenizer beside a model file, as @nq/eval-ppl looks for it: tok*.model, tokenizer.model, then
 * the llama2.c .bin forms (first by name within each kind). null when there is none.
 */
export function tokenizerBeside(model: string): string | null {
  const dir = path.dirname(model);
  const files = fs.readdirSync(dir);
  for (const re of [/^tok.*\.model$/, /^tokenizer\.model$/, /^tok.*\.bin$/, /^tokenizer\.bin$/]) {
    const f = files.filter((x) => re.test(x)).sort()[0];
    if (f) return path.join(dir, f);
  }
  return null;
}
