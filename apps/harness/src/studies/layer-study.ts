import fs from 'node:fs';
import type { Matrix } from '@nq/core';
import { forward, type LinearName, type LoadedModel, loadModel, Tokenizer } from '@nq/model';
import type { LayerCell } from '../sweep/cell.js';
import { canonicalJson } from '../util/canonical.js';
import { resolvePortable, tokenizerBeside } from '../util/paths.js';
import {
  type AsyncKernelOps,
  type CellOutcome,
  type KernelMemo,
  measurePairAsync,
  pairInputs,
} from './kernel-study.js';

/** Linear inputs a layer study can tap, and the weight each multiplies (the same names as ref.json). */
export const TAPS = { attn_in: 'q', ffn_in: 'gate', o_in: 'o', down_in: 'down' } as const satisfies Record<
  string,
  LinearName
>;
export type Tap = keyof typeof TAPS;

/**
 * The token ids a layer cell runs: BOS + the first `tokens − 1` tokens of the text (encoded from a
 * prefix long enough to hold them). With docs-valid and 64 tokens these are the prompt of
 * nq-docs-5M's ref.json, whose activation statistics the tests compare with.
 */
async function promptIds(model: string, text: string, tokens: number): Promise<Int32Array> {
  const tp = tokenizerBeside(model);
  if (!tp) throw new Error(`no tokenizer beside ${model}`);
  const tok = await Tokenizer.fromFile(tp);
  const raw = fs.readFileSync(text, 'utf8');
  for (let chars = Math.max(4096, tokens * 16); ; chars *= 2) {
    const ids = tok.encode(raw.slice(0, chars), { bos: true });
    // Drop the last few tokens of the prefix (the cut may split a word); keep the first `tokens`.
    if (ids.length >= tokens + 8 || chars >= raw.length) return ids.slice(0, Math.min(tokens, ids.length));
  }
}

/** Captures the inputs of every tapped linear in one forward pass. */
async function capture(model: LoadedModel, ids: Int32Array): Promise<Map<string, Matrix>> {
  const out = new Map<string, Matrix>();
  const wanted = new Set<string>(Object.values(TAPS));
  forward(model, ids, {
    hooks: {
      captureLinearInput: (layer, name, x) => {
        if (wanted.has(name))
          out.set(`${layer}:${name}`, { rows: x.rows, cols: x.cols, data: x.data.slice() });
      },
    },
  });
  return out;
}

/**
 * One layer-level cell: the real input X of one linear of one layer (captured on a prompt from the
 * text) and that linear's real weight W, through the same rotation / quantizer metrics as the kernel
 * cells (`measurePairAsync`, on the cell's backend). The captured activations and the loaded model are memoised across cells.
 */
export async function runLayerCell(
  cell: LayerCell,
  ops: AsyncKernelOps,
  memo: KernelMemo,
): Promise<CellOutcome> {
  const t0 = performance.now();
  const model = resolvePortable(cell.model);
  const text = resolvePortable(cell.text);
  const srcKey = canonicalJson({ model: cell.model, text: cell.text, tokens: cell.tokens });
  const src = await memo.pinnedAsync(`capture:${srcKey}`, async () => {
    const m = await loadModel(model);
    const ids = await promptIds(model, text, cell.tokens);
    return { model: m, captured: await capture(m, ids) };
  });
  const linear = TAPS[cell.tap as Tap];
  const pairKey = `layer:${srcKey}:${cell.layer}:${cell.tap}`;
  const base = memo.get(pairKey, () =>
    pairInputs(src.captured.get(`${cell.layer}:${linear}`)!, src.model.weights.layers[cell.layer]![linear]),
  );
  const t1 = performance.now();
  const out = await measurePairAsync(base, pairKey, cell, ops, memo);
  out.timings.data_ms = t1 - t0;
  out.timings.total_ms = performance.now() - t0;
  const tok = tokenizerBeside(model);
  return { ...out, seeds: { rotation: cell.seed }, files: [model, text, ...(tok ? [tok] : [])] };
}
