import type { CellSpec } from '../sweep/cell.js';

/** Where a number came from: enough to rerun it and to tell two machines' rows apart. */
export interface Provenance {
  /** `git rev-parse HEAD` of the repository, with "-dirty" when the tree had uncommitted changes. */
  git: string;
  /** Versions of the @nq packages (and key libraries) that computed the row. */
  packages: Record<string, string>;
  node: string;
  platform: string;
  cpu: string;
  /** 'cpu', or 'webgpu' / 'gpujs' with the adapter name. */
  backend: string;
  adapter?: string;
  /** Every seed used, by purpose (data, rotation, ...). */
  seeds: Record<string, number>;
  /** sha256 of every input file (model, tokenizer, text), by path relative to the repo's parent. */
  files: Record<string, string>;
}

/** One line of the results store. `spec` is stored verbatim so the row can be recomputed alone. */
export interface ResultRow {
  /** Format version of the row. */
  v: 1;
  /** Cell id: sha256(canonical spec) prefix. Also the row id used by `nq reproduce`. */
  cell: string;
  /** Name of the sweep that produced it. */
  sweep: string;
  spec: CellSpec;
  /** Short labels of the axes (e.g. { data: 'docs5m-down', rotation: 'had', act: 'int4-token' }). */
  labels: Record<string, string>;
  metrics: Record<string, number>;
  /** Non-metric outputs (e.g. activation statistics before/after rotation). */
  extra?: Record<string, unknown>;
  timings: Record<string, number>;
  provenance: Provenance;
  /** ISO time the row was written. */
  created: string;
}

/**
 * Bits per parameter, stored in every row's metrics (see techniques/model-bits.ts for the counting
 * conventions):
 *  - `bits_per_param`: model rows — every stored bit of the model (codes, scales, zero points,
 *    codebooks, online rotation state, embeddings / norms / classifier as stored) over all its
 *    parameters; kernel and layer rows — bits per element of the weight quantizer (32 = float32).
 *  - `linear_bits_per_param`: model rows — the same over the block linears only; kernel and layer
 *    rows — equal to bits_per_param (a kernel cell is one linear).
 *  - `act_bits`: bits per element of the activation quantizer (32 = not quantized).
 */
export const BITS_METRICS = ['bits_per_param', 'linear_bits_per_param', 'act_bits'] as const;
