import fs from 'node:fs';
import { NqInputError, NqUnsupportedError } from '@nq/core';

export interface EvalOptions {
  model: string;
  data: string;
  recipe: string;
  ctx: number;
  stride?: number;
  windows?: number;
  seed: number;
  json?: boolean;
}

/**
 * `nq eval --model <file> --data <text> --recipe <name|json> [--ctx 256] [--stride N] [--windows N]
 * [--seed N] [--json]` — flags as issue 7 defines them; the evaluation is @nq/eval-ppl's.
 */
export async function evalCommand(o: EvalOptions): Promise<number> {
  if (!fs.existsSync(o.model)) throw new NqInputError('--model', `${o.model} does not exist`, 'Pass a .bin / .gguf / .safetensors checkpoint (e.g. ../shared/models/nq-docs-5M/nq-docs-5M.bin).');
  if (!fs.existsSync(o.data)) throw new NqInputError('--data', `${o.data} does not exist`, 'Pass a UTF-8 text file (e.g. ../shared/data/wikitext2-test.txt).');
  if (o.ctx < 2) throw new NqInputError('--ctx', `must be ≥ 2, got ${o.ctx}`, 'Use e.g. --ctx 256.');
  if (o.stride !== undefined && (o.stride < 1 || o.stride > o.ctx)) throw new NqInputError('--stride', `must be in 1..ctx (${o.ctx}), got ${o.stride}`, 'Use e.g. --stride 128.');
  throw new NqUnsupportedError('`nq eval`', '@nq/eval-ppl does not export its evaluation API yet; `nq eval` will delegate to it when it does.');
}
