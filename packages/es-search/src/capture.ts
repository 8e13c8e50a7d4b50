import { type Matrix, NqInputError, Rng } from '@nq/core';
import { forward, type LinearName, type LoadedModel } from '@nq/model';
import type { LayerData } from './types.js';

/**
 * The four distinct linear inputs of a LLaMA block (eval-ppl's grouping): q/k/v share `attn`, gate/up
 * share `ffn`; `o` and `down` have their own. A rotation is searched per (layer, group).
 */
export type InputGroup = 'attn' | 'o' | 'ffn' | 'down';
export const INPUT_GROUPS: readonly InputGroup[] = ['attn', 'o', 'ffn', 'down'];
const FIRST_LINEAR: Record<InputGroup, LinearName> = { attn: 'q', o: 'o', ffn: 'gate', down: 'down' };
const GROUP_LINEARS: Record<InputGroup, LinearName[]> = {
  attn: ['q', 'k', 'v'],
  o: ['o'],
  ffn: ['gate', 'up'],
  down: ['down'],
};

export interface CapturedLayer extends LayerData {
  layer: number;
  group: InputGroup;
}

export interface CaptureOptions {
  /** Tokens per window (default 128, ≤ the model's context). */
  ctx?: number;
  /** Windows spread evenly over the token stream (default 8). */
  windows?: number;
  /** Keep at most this many token rows per layer input, drawn without replacement (seeded); default: all. */
  maxTokens?: number;
  /** Seed of the row subsampling (default 0). */
  seed?: number;
}

/** Rows of W for a group: q|k|v (or gate|up) stacked, so that X·Wᵀ is every output of that input. */
export function groupWeight(model: LoadedModel, layer: number, group: InputGroup): Matrix {
  const L = model.weights.layers[layer]!;
  const parts = GROUP_LINEARS[group].map((n) => L[n]);
  const cols = parts[0]!.cols;
  const rows = parts.reduce((a, p) => a + p.rows, 0);
  const data = new Float32Array(rows * cols);
  let off = 0;
  for (const p of parts) {
    data.set(p.data, off);
    off += p.data.length;
  }
  return { rows, cols, data };
}

/**
 * Runs `windows` windows of `ctx` tokens (spread over `tokens`) through the full-precision model and
 * captures the input of every (layer, group) — tokens × k activations — with the weights they meet.
 * Returned in layer order, groups attn, o, ffn, down.
 */
export function captureLayerData(
  model: LoadedModel,
  tokens: ArrayLike<number>,
  options: CaptureOptions = {},
): CapturedLayer[] {
  const ctx = options.ctx ?? 128;
  const windows = options.windows ?? 8;
  if (!Number.isInteger(ctx) || ctx < 2 || ctx > model.config.seqLen) {
    throw new NqInputError('ctx', `is ${ctx}`, `Use 2 ≤ ctx ≤ ${model.config.seqLen} (the model's context).`);
  }
  if (!Number.isInteger(windows) || windows < 1)
    throw new NqInputError('windows', `is ${windows}`, 'Use an integer ≥ 1.');
  const total = Math.floor(tokens.length / ctx);
  if (total < windows) {
    throw new NqInputError(
      'tokens',
      `has ${tokens.length} tokens, fewer than windows·ctx = ${windows * ctx}`,
      'Pass more calibration text or fewer/shorter windows.',
    );
  }
  const nL = model.config.nLayers;
  const chunks: Float32Array[][][] = Array.from({ length: nL }, () => INPUT_GROUPS.map(() => []));
  const cols: number[][] = Array.from({ length: nL }, () => [0, 0, 0, 0]);
  for (let i = 0; i < windows; i++) {
    const start = Math.floor((i * total) / windows) * ctx;
    const ids = Array.from({ length: ctx }, (_, j) => tokens[start + j]!);
    forward(model, ids, {
      lastOnly: true,
      hooks: {
        captureLinearInput: (layer, name, x) => {
          const g = INPUT_GROUPS.findIndex((gr) => FIRST_LINEAR[gr] === name);
          if (g < 0) return;
          chunks[layer]![g]!.push(x.data.slice(0, x.rows * x.cols));
          cols[layer]![g] = x.cols;
        },
      },
    });
  }
  const out: CapturedLayer[] = [];
  for (let l = 0; l < nL; l++) {
    INPUT_GROUPS.forEach((group, g) => {
      const k = cols[l]![g]!;
      const all = concatRows(chunks[l]![g]!, k);
      const x =
        options.maxTokens && options.maxTokens < all.rows
          ? sampleRows(all, options.maxTokens, new Rng(options.seed ?? 0).fork(`L${l}.${group}`))
          : all;
      out.push({ name: `L${l}.${group}`, layer: l, group, x, w: groupWeight(model, l, group) });
    });
  }
  return out;
}

function concatRows(parts: Float32Array[], cols: number): Matrix {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const data = new Float32Array(n);
  let off = 0;
  for (const p of parts) {
    data.set(p, off);
    off += p.length;
  }
  return { rows: n / cols, cols, data };
}

/** `n` distinct rows of m, in their original order (seeded partial shuffle). */
export function sampleRows(m: Matrix, n: number, rng: Rng): Matrix {
  const idx = Int32Array.from({ length: m.rows }, (_, i) => i);
  for (let i = 0; i < n; i++) {
    const j = i + rng.int(m.rows - i);
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  const keep = Array.from(idx.subarray(0, n)).sort((a, b) => a - b);
  const data = new Float32Array(n * m.cols);
  for (let i = 0; i < n; i++)
    data.set(m.data.subarray(keep[i]! * m.cols, (keep[i]! + 1) * m.cols), i * m.cols);
  return { rows: n, cols: m.cols, data };
}
