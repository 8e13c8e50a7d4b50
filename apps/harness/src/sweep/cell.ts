import type { SyntheticSpec } from '../synthetic/profiles.js';
import type { QuantDescriptor, RotationDescriptor, WeightDescriptor } from '../techniques/catalog.js';

/**
 * One cell of a sweep grid, the full specification of one result row. Everything that can change a
 * number is in here (and nothing else is), so the cell id — a hash of this object — is stable across
 * runs and machines, and `nq reproduce` can recompute a row from its spec alone.
 */
export type CellSpec = KernelCell | LayerCell | ModelCell;

/**
 * Kernel level: synthetic activations X (tokens × channels) and weights W (out × channels);
 * rotate X·R and W·R, quantize, and measure activation error and GEMM error against X·Wᵀ.
 */
export interface KernelCell {
  v: 1;
  study: 'kernel';
  data: SyntheticSpec;
  /** `builder` names the function that turns the descriptor into a RotationSpec (see techniques/ops.ts). */
  rotation: { name: string; spec: RotationDescriptor; builder: string };
  act: { name: string; spec: QuantDescriptor | null };
  weight: { name: string; spec: WeightDescriptor | null };
  seed: number;
}

/**
 * Layer level: the real input of one linear (tap) of one layer of a model, captured on the first
 * `tokens` tokens (BOS + text) of a text, with that linear's real weight; same axes and metrics as a
 * kernel cell.
 */
export interface LayerCell {
  v: 1;
  study: 'layer';
  model: string;
  text: string;
  tokens: number;
  layer: number;
  /** attn_in (q/k/v input, weight q), ffn_in (gate/up input, weight gate), o_in (weight o), down_in (weight down). */
  tap: string;
  rotation: KernelCell['rotation'];
  act: KernelCell['act'];
  weight: KernelCell['weight'];
  seed: number;
}

/** Model level: a recipe evaluated (PPL, KLD vs full precision) through @nq/eval-ppl. */
export interface ModelCell {
  v: 1;
  study: 'model';
  /** Model file, relative to the repository's parent folder when under it (e.g. shared/models/…). */
  model: string;
  /** Text file, same convention. */
  text: string;
  /** Recipe name (as @nq/eval-ppl names them) or a recipe JSON object. */
  recipe: string | Record<string, unknown>;
  ctx: number;
  windows: number;
  stride?: number;
  seed: number;
}

export function cellLabels(c: CellSpec): Record<string, string> {
  if (c.study === 'kernel') {
    return {
      study: 'kernel',
      data: c.data.profile,
      rotation: c.rotation.name,
      act: c.act.name,
      weight: c.weight.name,
      seed: String(c.seed),
    };
  }
  if (c.study === 'layer') {
    return {
      study: 'layer',
      model: c.model
        .split('/')
        .pop()!
        .replace(/\.(bin|gguf|safetensors)$/, ''),
      layer: String(c.layer),
      tap: c.tap,
      rotation: c.rotation.name,
      act: c.act.name,
      weight: c.weight.name,
      seed: String(c.seed),
    };
  }
  const modelName = c.model
    .split('/')
    .pop()!
    .replace(/\.(bin|gguf|safetensors)$/, '');
  const textName = c.text
    .split('/')
    .pop()!
    .replace(/\.txt$/, '');
  return {
    study: 'model',
    model: modelName,
    text: textName,
    recipe:
      typeof c.recipe === 'string' ? c.recipe : String((c.recipe as { name?: unknown }).name ?? 'custom'),
    seed: String(c.seed),
  };
}
