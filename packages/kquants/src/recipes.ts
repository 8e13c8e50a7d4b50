// Per-tensor type rules of llama.cpp's `llama-quantize` (llama_tensor_get_type) for the two
// production presets nq holds as baselines, for LLaMA-architecture models without an imatrix.
import { NqInputError } from '@nq/core';
import { bitsPerWeight, formatOf, type KnownFormat, QK_K } from './formats.js';

/** What a recipe needs to know about a tensor. `dims` in ggml order: dims[0] is the row length. */
export interface TensorDesc {
  /** GGUF tensor name, e.g. "blk.3.ffn_down.weight". */
  name: string;
  dims: readonly number[];
  /** Number of transformer blocks (llama.block_count). */
  nLayers: number;
  /** Whether the model has its own output.weight (false: tied, token_embd is the classifier). */
  hasOutput?: boolean;
}

export interface Recipe {
  name: 'q8_0' | 'q4_k_m';
  /** GGUF general.file_type (llama_ftype): 7 = MOSTLY_Q8_0, 15 = MOSTLY_Q4_K_M. */
  fileType: number;
  description: string;
  /** The storage type of one tensor. */
  typeFor(t: TensorDesc): KnownFormat;
}

/**
 * llama.cpp quantizes 2-D (or higher) tensors whose name ends in "weight"; 1-D ones (norms, biases)
 * stay F32.
 */
export function isQuantizable(t: Pick<TensorDesc, 'name' | 'dims'>): boolean {
  return (
    t.name.endsWith('weight') &&
    t.dims.length >= 2 &&
    !t.name.includes('ffn_gate_inp') &&
    !t.name.includes('pos_embd') &&
    !t.name.includes('token_types')
  );
}

/**
 * llama.cpp's use_more_bits: the first and last eighth of the layers and every third layer in
 * between get more bits.
 */
export function useMoreBits(iLayer: number, nLayers: number): boolean {
  const e = Math.trunc(nLayers / 8);
  return iLayer < e || iLayer >= Math.trunc((7 * nLayers) / 8) || (iLayer - e) % 3 === 2;
}

/** Layer index of "blk.N.…", or -1. */
export function layerIndex(name: string): number {
  const m = /^blk\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : -1;
}

/**
 * K-quants need rows that are whole super-blocks of 256; llama.cpp then falls back to a 32-block
 * format of similar size (Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0), and from a 32-block format to F16
 * when even 32 does not divide the row.
 */
export function fitRow(type: KnownFormat, rowLength: number): KnownFormat {
  let t = type;
  if (formatOf(t).blockSize === QK_K && rowLength % QK_K !== 0) {
    t = t === 'Q4_K' ? 'Q5_0' : t === 'Q5_K' ? 'Q5_1' : 'Q8_0';
  }
  if (rowLength % formatOf(t).blockSize !== 0) t = 'F16';
  return t;
}

function isClassifier(t: TensorDesc): boolean {
  return t.name === 'output.weight' || (t.hasOutput === false && t.name === 'token_embd.weight');
}

/** Q8_0: every quantizable tensor Q8_0 (classifier and embeddings included), norms F32. */
export const q8_0: Recipe = {
  name: 'q8_0',
  fileType: 7,
  description: 'llama.cpp Q8_0: all 2-D weights Q8_0, norms F32',
  typeFor(t) {
    if (!isQuantizable(t)) return 'F32';
    return fitRow('Q8_0', t.dims[0]!);
  },
};

/**
 * Q4_K_M: Q4_K everywhere (token embeddings included) except the classifier (Q6_K) and attn_v and
 * ffn_down in the layers use_more_bits picks (Q6_K); norms F32.
 */
export const q4_k_m: Recipe = {
  name: 'q4_k_m',
  fileType: 15,
  description:
    'llama.cpp Q4_K_M: Q4_K, with Q6_K for output and for attn_v / ffn_down of use_more_bits layers',
  typeFor(t) {
    if (!isQuantizable(t)) return 'F32';
    let type: KnownFormat = 'Q4_K';
    if (isClassifier(t)) type = 'Q6_K';
    else if (t.name.includes('attn_v.weight') || t.name.includes('ffn_down')) {
      const i = layerIndex(t.name);
      if (i >= 0 && useMoreBits(i, t.nLayers)) type = 'Q6_K';
    }
    return fitRow(type, t.dims[0]!);
  },
};

export const RECIPES: Readonly<Record<Recipe['name'], Recipe>> = { q8_0, q4_k_m };

export function recipeByName(name: string): Recipe {
  const r = (RECIPES as Record<string, Recipe>)[name];
  if (!r)
    throw new NqInputError(
      'recipe',
      `unknown recipe "${name}"`,
      `Use one of ${Object.keys(RECIPES).join(', ')}`,
    );
  return r;
}

/**
 * Bits per parameter of a recipe over a set of tensors, counted honestly: every stored bit (codes,
 * block scales and mins, F32 norms, the classifier) divided by the number of parameters.
 */
export function recipeBitsPerParameter(
  recipe: Recipe,
  tensors: readonly TensorDesc[],
): { bits: number; params: number; bitsPerParameter: number } {
  let bits = 0;
  let params = 0;
  for (const t of tensors) {
    const n = t.dims.reduce((a, b) => a * b, 1);
    params += n;
    bits += n * bitsPerWeight(recipe.typeFor(t));
  }
  return { bits, params, bitsPerParameter: params > 0 ? bits / params : 0 };
}
