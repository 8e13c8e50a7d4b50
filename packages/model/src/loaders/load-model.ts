import nodePath from 'node:path';
import { NqUnsupportedError } from '@nq/core';
import * as gguf from '../gguf/index.js';
import { ModelFile } from '../io/model-file.js';
import type { LoadedModel } from '../types.js';
import { loadLlama2c } from './llama2c.js';
import { loadSafetensors } from './safetensors.js';

export type ModelFormat = 'llama2c' | 'safetensors' | 'gguf';

/** Decides a file's format from its first bytes, falling back to its extension. */
export function detectModelFormat(path: string): ModelFormat {
  const f = ModelFile.open(path);
  try {
    const head = f.bytes(0, Math.min(f.size, 9), 'magic');
    const ascii = String.fromCharCode(...head.subarray(0, 4));
    if (ascii === 'GGUF') return 'gguf';
    // llama2.c version-1 magic "ak42" as a little-endian u32.
    if (ascii === '24ka') return 'llama2c';
    // safetensors: u64 header length, then the JSON header's '{'.
    if (head.length === 9 && head[8] === 0x7b && head[5] === 0 && head[6] === 0 && head[7] === 0)
      return 'safetensors';
  } finally {
    f.close();
  }
  const ext = nodePath.extname(path).toLowerCase();
  if (ext === '.gguf') return 'gguf';
  if (ext === '.safetensors') return 'safetensors';
  if (ext === '.bin') return 'llama2c';
  throw new NqUnsupportedError(
    `model file ${path}`,
    'Supported: llama2.c .bin, .safetensors (+ config.json), .gguf.',
  );
}

/**
 * Loads any supported model file: llama2.c `.bin`, Hugging Face `.safetensors` (config.json beside
 * it) or GGUF (through `loadGgufModel` of ./gguf, built in parallel by the GGUF engineer).
 */
export async function loadModel(path: string): Promise<LoadedModel> {
  const format = detectModelFormat(path);
  if (format === 'llama2c') return loadLlama2c(path);
  if (format === 'safetensors') return loadSafetensors(path);
  // Looked up by name so that this module builds whether or not the GGUF loader exists yet.
  const loadGguf = (gguf as Record<string, unknown>).loadGgufModel as
    | ((p: string) => Promise<LoadedModel>)
    | undefined;
  if (typeof loadGguf !== 'function') {
    throw new NqUnsupportedError(
      `GGUF model ${path}`,
      'The GGUF loader (loadGgufModel) is not available in this build; use the .bin or .safetensors file.',
    );
  }
  return loadGguf(path);
}
