import fs from 'node:fs';
import path from 'node:path';
import { NqInputError } from '@nq/core';
import { sampleCalibration } from '@nq/gptq';
import { type LoadedModel, loadModel, Tokenizer } from '@nq/model';
import { buildReference, type Reference } from './evaluate-model.js';

/*
 * The common start of the model-level table scripts (this package's and @nq/rescale's): nq-docs-5M,
 * its tokenizer, the FP reference on docs-valid windows, and GPTQ-style calibration sequences from
 * docs-calib. Files are read in place from the shared folder (never copied into the repo).
 */

export interface DocsTableOptions {
  /** Non-overlapping 256-token windows spread evenly over docs-valid. */
  windows: number;
  /** Calibration sequences of 256 tokens from docs-calib (0 or unset: none sampled). */
  calib?: number;
  /** Seeds the calibration positions (default 0). */
  seed?: number;
  /** The shared folder (default: ../shared beside the repository). */
  sharedDir?: string;
  /** Progress lines (default console.error). */
  log?: (line: string) => void;
}

export interface DocsTable {
  model: LoadedModel;
  tokenizer: Tokenizer;
  /** docs-valid, encoded. */
  tokens: Int32Array;
  reference: Reference;
  /** Empty when no calibration was asked for. */
  calibration: Int32Array[];
}

/** Loads nq-docs-5M and docs-valid, builds the FP reference and samples calibration. */
export async function openDocsTable(opts: DocsTableOptions): Promise<DocsTable> {
  const shared = opts.sharedDir ?? path.resolve(import.meta.dirname, '../../../../../shared');
  const log = opts.log ?? ((line: string) => console.error(line));
  const calibN = opts.calib ?? 0;
  const modelPath = path.join(shared, 'models/nq-docs-5M/nq-docs-5M.bin');
  const tokPath = path.join(shared, 'models/nq-docs-5M/tok4096.model');
  const validPath = path.join(shared, 'data/docs-valid.txt');
  const calibPath = path.join(shared, 'data/docs-calib.txt');
  for (const f of calibN > 0 ? [modelPath, tokPath, validPath, calibPath] : [modelPath, tokPath, validPath]) {
    if (!fs.existsSync(f))
      throw new NqInputError(
        'sharedDir',
        `lacks ${f}`,
        'The shared model and data are needed for the table: pass sharedDir, or run beside ../shared.',
      );
  }
  const model = await loadModel(modelPath);
  const tokenizer = await Tokenizer.fromFile(tokPath);
  const tokens = tokenizer.encode(fs.readFileSync(validPath, 'utf8'));
  const t = performance.now();
  const reference = buildReference(model, tokens, { ctx: 256, windows: opts.windows });
  log(`reference: ${reference.windows.length} windows in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const calibration =
    calibN > 0
      ? await sampleCalibration({
          text: calibPath,
          tokenizer,
          sequences: calibN,
          ctx: 256,
          seed: opts.seed ?? 0,
        })
      : [];
  return { model, tokenizer, tokens, reference, calibration };
}
