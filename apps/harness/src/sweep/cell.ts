import type { SyntheticSpec } from '../synthetic/profiles.js';
import type { QuantDescriptor, RotationDescriptor, WeightDescriptor } from '../techniques/catalog.js';

/**
 * One cell of a sweep grid, the full specification of one result row. Everything that can change a
 * number is in here (and nothing else is), so the cell id — a hash of this object — is stable across
 * runs and machines, and `nq reproduce` can recompute a row from its spec alone.
 */
export type CellSpec = KernelCell | ModelCell;

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
