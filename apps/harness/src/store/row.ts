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
