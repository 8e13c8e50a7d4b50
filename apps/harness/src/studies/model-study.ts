import { NqUnsupportedError } from '@nq/core';
import type { ModelCell } from '../sweep/cell.js';
import type { CellOutcome } from './kernel-study.js';

/**
 * Model-level cells go through @nq/eval-ppl's evaluation API (PPL and KLD against the full-precision
 * model on the same windows). Until that package exports it, model cells are left out of the grid
 * with a note (see `modelStudyUnavailable`).
 */
export function modelStudyUnavailable(): string | null {
  return '@nq/eval-ppl does not export its evaluation API yet: model-level cells left out';
}

export async function runModelCell(cell: ModelCell): Promise<CellOutcome> {
  throw new NqUnsupportedError(`model cell ${JSON.stringify(cell.recipe)}`, modelStudyUnavailable() ?? '');
}
