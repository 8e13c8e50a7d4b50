// The seeded calibration sample: windows of consecutive tokens from documents of docs-calib.txt.

import { NqInputError, Rng } from '@nq/core';

/** Document separator in ../shared/data/docs-*.txt (a line holding only ASCII RS). */
export const DOC_SEPARATOR = '\x1e';

export interface CalibrationOptions {
  windows: number;
  length: number;
  seed: number;
}

/**
 * Picks `windows` windows of `length` tokens: documents in a seeded random order (Rng(seed).fork('calib')),
 * each document encoded on its own (no BOS, like eval-ppl) and, when it holds at least `length`
 * tokens, one window taken from it at a seeded random offset. Documents too short are skipped.
 */
export function sampleCalibrationWindows(
  text: string,
  encode: (s: string) => ArrayLike<number>,
  opts: CalibrationOptions,
): Int32Array[] {
  const { windows, length, seed } = opts;
  if (!Number.isInteger(windows) || windows < 1)
    throw new NqInputError('windows', `must be a positive integer, got ${windows}`, 'Pass e.g. 16.');
  if (!Number.isInteger(length) || length < 2)
    throw new NqInputError('length', `must be an integer ≥ 2, got ${length}`, 'Pass e.g. 128.');
  const docs = text
    .split(DOC_SEPARATOR)
    .map((d) => d.trim())
    .filter((d) => d.length > 0);
  const rng = new Rng(seed).fork('calib');
  const order = Array.from({ length: docs.length }, (_, i) => i);
  rng.shuffle(order);
  const out: Int32Array[] = [];
  for (const i of order) {
    if (out.length === windows) break;
    // Cheap pre-filter: a token is at most a few characters here; skip documents that cannot fill a window.
    if (docs[i]!.length < length) continue;
    const ids = encode(docs[i]!);
    if (ids.length < length) continue;
    const start = rng.int(ids.length - length + 1);
    out.push(Int32Array.from({ length }, (_, k) => ids[start + k]!));
  }
  if (out.length < windows) {
    throw new NqInputError(
      'text',
      `has only ${out.length} documents of ≥ ${length} tokens, ${windows} windows requested`,
      'Ask for fewer or shorter windows.',
    );
  }
  return out;
}

/**
 * Seeded split of window indices: Rng(seed).fork('split') shuffles 0..n−1; the first `heldOut` are
 * held out, the rest are the training windows, dealt round-robin (in that shuffled order) into
 * `folds` cross-validation folds for the ridge parameter. Every list is returned sorted.
 */
export function splitWindows(
  n: number,
  heldOut: number,
  folds: number,
  seed: number,
): { train: number[]; folds: number[][]; heldOut: number[] } {
  if (!Number.isInteger(folds) || folds < 1) {
    throw new NqInputError(
      'folds',
      `must be a positive integer, got ${folds}`,
      'Pass e.g. 4 (1 = no cross-validation).',
    );
  }
  if (!Number.isInteger(heldOut) || heldOut < 1 || n - heldOut < Math.max(folds, 2)) {
    throw new NqInputError(
      'heldOut',
      `${heldOut} held-out windows of ${n} leave fewer than ${Math.max(folds, 2)} training windows for ${folds} folds`,
      'Use more windows, fewer held out, or fewer folds.',
    );
  }
  const idx = Array.from({ length: n }, (_, i) => i);
  new Rng(seed).fork('split').shuffle(idx);
  const sorted = (a: number[]) => a.sort((x, y) => x - y);
  const train = idx.slice(heldOut);
  return {
    heldOut: sorted(idx.slice(0, heldOut)),
    folds: Array.from({ length: folds }, (_, f) => sorted(train.filter((_, k) => k % folds === f))),
    train: sorted(train.slice()),
  };
}
