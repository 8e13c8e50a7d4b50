import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** /work/shared as seen from the repo: ../shared from the repository root. */
export const SHARED = path.resolve(import.meta.dirname, '../../../../../shared');
export const NQ5M = path.join(SHARED, 'models/nq-docs-5M');
export const NQ5M_BIN = path.join(NQ5M, 'nq-docs-5M.bin');
export const NQ5M_ST = path.join(NQ5M, 'nq-docs-5M.safetensors');
export const NQ5M_GGUF = path.join(NQ5M, 'nq-docs-5M.f32.gguf');
/** The same model quantized by llama.cpp's llama-quantize (see the model's README). */
export const NQ5M_Q8_GGUF = path.join(NQ5M, 'nq-docs-5M.q8_0.gguf');
export const NQ5M_Q4KM_GGUF = path.join(NQ5M, 'nq-docs-5M.q4_k_m.gguf');
export const NQ5M_REF_JSON = path.join(NQ5M, 'nq-docs-5M.ref.json');
export const NQ5M_REF_LOGITS = path.join(NQ5M, 'nq-docs-5M.ref-logits.npy');

export const HAVE_NQ5M = [NQ5M_BIN, NQ5M_ST, NQ5M_REF_JSON, NQ5M_REF_LOGITS].every((p) => fs.existsSync(p));
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
