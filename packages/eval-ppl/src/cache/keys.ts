import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export function sha256(data: string | ArrayBufferView): string {
  const h = crypto.createHash('sha256');
  if (typeof data === 'string') h.update(data, 'utf8');
  else h.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return h.digest('hex');
}

export function sha256File(file: string): string {
  return sha256(fs.readFileSync(file));
}

/** Hash of several arrays in order (e.g. every weight of an in-memory model). */
export function sha256Arrays(arrays: Iterable<ArrayBufferView>): string {
  const h = crypto.createHash('sha256');
  for (const a of arrays) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
}

/** Stable JSON (sorted keys) so equal objects hash equally. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * Where reference caches live: $NQ_CACHE_DIR, else `.nq-cache/` in the repository root (the nearest
 * folder above the working directory holding pnpm-workspace.yaml or .git), else in the working directory.
 */
export function defaultCacheDir(): string {
  const env = process.env.NQ_CACHE_DIR;
  if (env) return path.resolve(env);
  let dir = process.cwd();
  for (;;) {
    if (fs.existsSync(path.join(dir, 'pnpm-workspace.yaml')) || fs.existsSync(path.join(dir, '.git')))
      return path.join(dir, '.nq-cache');
    const up = path.dirname(dir);
    if (up === dir) return path.join(process.cwd(), '.nq-cache');
    dir = up;
  }
}
