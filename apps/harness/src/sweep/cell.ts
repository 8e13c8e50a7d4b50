import type { SyntheticSpec } from '../synthetic/profiles.js';
import type { QuantDescriptor, RotationDescriptor, WeightDescriptor } from '../techniques/catalog.js';

/**
 * One cell of a sweep grid, the full specification of one result row. Everything that can change a
 * number is in here (and nothing else is), so the cell id — a hash of this object — is stable across
 * runs and machines, and `nq reproduce` can recompute a row from its spec alone.
 */
export type CellSpec = KernelCell | LayerCell | ModelCell | DiscoverCell | GeometryCell;

/**
 * Where a kernel or layer cell's rotation and quantizers ran, when not on the CPU reference. Absent
 * for CPU cells (so their ids are those of rows stored before backends existed); present for GPU
 * cells, adapter included, so a CPU row, an llvmpipe row and an H100 row of the same technique are
 * three different cells (their numbers may differ in the last bits) and never overwrite each other.
 */
export interface BackendTag {
  name: 'webgpu' | 'gpujs';
  /** Adapter name from @nq/core (e.g. "nvidia-h100-80gb-hbm3", "llvmpipe (opengles)"). */
  adapter: string;
  /** gpu.js mode (webgpu | webasm | cpu), for gpujs. */
  mode?: string;
}

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
  /** Non-CPU backend of the rotation and quantizers (absent = cpu). */
  backend?: BackendTag;
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
  backend?: BackendTag;
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

/**
 * ES discovery (@nq/es-search `discover`) of a structured rotation for one linear input (layer ×
 * input group) of a model: activations captured on the first half of a calibration text's prefix
 * (search rows) and the second half (held-out rows), compared with identity / full random Hadamard /
 * block random Hadamard on both; optionally the model-level KLD check (W4A4 with a random Hadamard on
 * every input, the searched input given the found rotation instead).
 */
export interface DiscoverCell {
  v: 1;
  study: 'discover';
  model: string;
  /** Calibration text (portable path); its first `capture.chars` characters are used. */
  text: string;
  layer: number;
  input: 'attn' | 'o' | 'ffn' | 'down';
  target: 'int8' | 'int4' | 'w4a4';
  capture: { chars: number; ctx: number; windows: number; tokens: number; holdout_tokens: number };
  search: {
    population: number;
    generations: number;
    sign_generations: number;
    restarts: number;
    alpha: number;
    beta: number;
  };
  /** Where the search scores its candidates (the comparison rows are always CPU). */
  backend: 'cpu' | 'webgpu';
  model_check?: { text: string; windows: number; ctx: number };
  seed: number;
}

/** One setting (model × seed) of @nq/geometry-correction's Q1/Q2 study (`runSetting`). */
export interface GeometryCell {
  v: 1;
  study: 'geometry';
  model: string;
  /** Calibration text (documents separated by ASCII RS), portable path. */
  text: string;
  /** @nq/eval-ppl recipe name. */
  recipe: string;
  windows: number;
  window_length: number;
  held_out_windows: number;
  folds: number;
  corrector_iterations: number;
  seed: number;
}

const modelLabel = (m: string) =>
  m
    .split('/')
    .pop()!
    .replace(/\.(bin|gguf|safetensors)$/, '');

export function cellLabels(c: CellSpec): Record<string, string> {
  if (c.study === 'discover') {
    return {
      study: 'discover',
      model: modelLabel(c.model),
      layer: String(c.layer),
      input: c.input,
      target: c.target,
      ...(c.backend !== 'cpu' ? { backend: c.backend } : {}),
      seed: String(c.seed),
    };
  }
  if (c.study === 'geometry') {
    return { study: 'geometry', model: modelLabel(c.model), recipe: c.recipe, seed: String(c.seed) };
  }
  const backend: Record<string, string> = c.study !== 'model' && c.backend ? { backend: c.backend.name } : {};
  if (c.study === 'kernel') {
    return {
      study: 'kernel',
      data: c.data.profile,
      rotation: c.rotation.name,
      act: c.act.name,
      weight: c.weight.name,
      ...backend,
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
      ...backend,
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
