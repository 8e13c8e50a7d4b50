import fs from 'node:fs';
import path from 'node:path';
import { modelsDir } from './paths.js';

export interface FoundModel {
  name: string;
  /** The llama2.c .bin (or .gguf / .safetensors) checkpoint. */
  file: string;
  /** Tokenizer beside it (SentencePiece .model), if any. */
  tokenizer?: string;
}

/**
 * Models under NQ_MODELS or ../shared/models: every sub-folder with a checkpoint and a tokenizer beside
 * it (the shared models README's convention), nq-docs-5M first (the project's yardstick), then by name.
 */
export function discoverModels(dir = modelsDir()): FoundModel[] {
  if (!fs.existsSync(dir)) return [];
  const out: FoundModel[] = [];
  for (const sub of fs.readdirSync(dir).sort()) {
    const d = path.join(dir, sub);
    if (!fs.statSync(d).isDirectory()) continue;
    const files = fs.readdirSync(d);
    const tok = files.find((f) => f.endsWith('.model'));
    const ckpt =
      files.find((f) => f === `${sub}.bin`) ??
      files.find((f) => f.endsWith('.bin') && !f.startsWith('tok') && f !== 'tokenizer.bin') ??
      files.find((f) => f.endsWith('.f32.gguf')) ??
      files.find((f) => f.endsWith('.safetensors'));
    if (!ckpt || !tok) continue;
    out.push({ name: sub, file: path.join(d, ckpt), tokenizer: path.join(d, tok) });
  }
  out.sort((a, b) =>
    a.name === 'nq-docs-5M' ? -1 : b.name === 'nq-docs-5M' ? 1 : a.name.localeCompare(b.name),
  );
  return out;
}
