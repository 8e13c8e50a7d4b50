import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hasShared, sharedDir, sharedModelFiles } from '@nq/core/testing';

/** /work/shared as seen from the repo: ../shared from the repository root (or $NQ_SHARED). */
export const SHARED = sharedDir();
const nq5m = sharedModelFiles('nq-docs-5M');
export const NQ5M = nq5m.dir;
export const NQ5M_BIN = nq5m.bin;
export const NQ5M_ST = nq5m.safetensors;
export const NQ5M_GGUF = nq5m.ggufF32;
/** The same model quantized by llama.cpp's llama-quantize (see the model's README). */
export const NQ5M_Q8_GGUF = nq5m.ggufQ8;
export const NQ5M_Q4KM_GGUF = nq5m.ggufQ4KM;
export const NQ5M_REF_JSON = nq5m.refJson;
export const NQ5M_REF_LOGITS = nq5m.refLogits;

export const HAVE_NQ5M = hasShared(NQ5M_BIN, NQ5M_ST, NQ5M_REF_JSON, NQ5M_REF_LOGITS);
export const NQ5M_SKIP_REASON = `nq-docs-5M not found under ${NQ5M} (CI always has ../shared)`;

export interface Nq5mRef {
  ref_logits: { prompt_ids: number[]; shape: [number, number] };
  greedy: { prompt: string; ids: number[] };
}
export function readRef(): Nq5mRef {
  return JSON.parse(fs.readFileSync(NQ5M_REF_JSON, 'utf8')) as Nq5mRef;
}

/** A fresh temporary directory for crafted files (removed by the OS; tests clean up too). */
export function tmpDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `nq-model-${label}-`));
}

/** max|a−b| / max|b|. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let d = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return d / s;
}
