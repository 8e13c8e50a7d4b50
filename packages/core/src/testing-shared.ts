import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Locating the shared model and data files (/work/shared, i.e. `../shared` from the repository root) from
 * tests. Dependency-free on purpose: loading a model stays with the caller (@nq/model), this only names
 * paths and says why a test skips. Node-only (node:fs), like the tests that use it.
 */

/** Environment variable that overrides where the shared directory is (CI or a different checkout layout). */
export const SHARED_ENV = 'NQ_SHARED';

/**
 * The shared directory: $NQ_SHARED when set, else `../shared` beside the repository root. This file lives
 * two levels below packages/core (src/ in tests, dist/ when built), so the root is three levels up.
 */
export function sharedDir(): string {
  const fromEnv = process.env[SHARED_ENV];
  if (fromEnv) return path.resolve(fromEnv);
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.resolve(here, '../../../../shared');
}

/** A path inside the shared directory, e.g. `sharedPath('data', 'docs-calib.txt')`. */
export function sharedPath(...parts: string[]): string {
  return path.join(sharedDir(), ...parts);
}

/** The files shipped with one shared model directory (see ../shared/models/<name>/README.md). */
export interface SharedModelFiles {
  dir: string;
  /** llama2.c checkpoint `<name>.bin`. */
  bin: string;
  safetensors: string;
  /** SentencePiece tokenizer `tok4096.model` and its llama2.c form `tok4096.bin`. */
  tokenizer: string;
  tokenizerBin: string;
  refJson: string;
  refLogits: string;
  /** Token ids of ../shared/data/docs-valid.txt under tok4096 (uint16 .npy). */
  validIds: string;
  /** llama.cpp files `<name>.f32.gguf`, `.q8_0.gguf`, `.q4_k_m.gguf` (nq-docs-5M only). */
  ggufF32: string;
  ggufQ8: string;
  ggufQ4KM: string;
}

/** Paths (not checked for existence) of the files in ../shared/models/<name>. */
export function sharedModelFiles(name = 'nq-docs-5M'): SharedModelFiles {
  const dir = sharedPath('models', name);
  const f = (file: string) => path.join(dir, file);
  return {
    dir,
    bin: f(`${name}.bin`),
    safetensors: f(`${name}.safetensors`),
    tokenizer: f('tok4096.model'),
    tokenizerBin: f('tok4096.bin'),
    refJson: f(`${name}.ref.json`),
    refLogits: f(`${name}.ref-logits.npy`),
    validIds: f('tok4096.docs-valid.ids.npy'),
    ggufF32: f(`${name}.f32.gguf`),
    ggufQ8: f(`${name}.q8_0.gguf`),
    ggufQ4KM: f(`${name}.q4_k_m.gguf`),
  };
}

/**
 * '' when every path exists, else a skip reason naming the missing ones, for
 * `describe.skipIf(!!reason)(\`... ${reason}\`)`.
 */
export function missingShared(...paths: string[]): string {
  const missing = paths.filter((p) => !fs.existsSync(p));
  if (missing.length === 0) return '';
  return `${missing.join(', ')} not found (set ${SHARED_ENV} or check out ../shared; CI always has it)`;
}

/** True when every path exists. */
export function hasShared(...paths: string[]): boolean {
  return missingShared(...paths) === '';
}
