import { createHash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted at every depth, no whitespace, numbers as JSON writes them.
 * Two specs that mean the same thing (same keys and values, any key order) give the same string, so
 * a hash of it is a stable identity for a cell across runs, machines and file edits that only reorder.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as Record<string, unknown>).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Stable short id of a spec: the first 16 hex digits (64 bits) of sha256(canonical JSON). */
export function specId(spec: unknown): string {
  return sha256Hex(canonicalJson(spec)).slice(0, 16);
}
