import { NqInputError } from '@nq/core';
import { type LoadedModel, loadModel, Tokenizer } from '@nq/model';
import { resolvePortable, tokenizerBeside } from '../util/paths.js';
import type { KernelMemo } from './kernel-study.js';

/** A real-model cell's inputs: its checkpoint, tokenizer and text, resolved and loaded once per sweep. */
export interface CellModel {
  modelFile: string;
  textFile: string;
  tokFile: string;
  model: LoadedModel;
  tok: Tokenizer;
}

/**
 * Resolves a cell's model and text paths, finds the tokenizer beside the checkpoint (a typed error
 * naming `field` when there is none) and loads both through the sweep's memo, so every cell of a
 * sweep on the same model shares one copy.
 */
export async function loadCellModel(
  cell: { model: string; text: string },
  field: string,
  memo: KernelMemo,
): Promise<CellModel> {
  const modelFile = resolvePortable(cell.model);
  const textFile = resolvePortable(cell.text);
  const tokFile = tokenizerBeside(modelFile);
  if (!tokFile)
    throw new NqInputError(
      field,
      `${modelFile} has no tokenizer beside it`,
      'Put tok*.model / tokenizer.model next to the checkpoint.',
    );
  const model = await memo.pinnedAsync(`model:${cell.model}`, () => loadModel(modelFile));
  const tok = await memo.pinnedAsync(`tokenizer:${tokFile}`, () => Tokenizer.fromFile(tokFile));
  return { modelFile, textFile, tokFile, model, tok };
}
