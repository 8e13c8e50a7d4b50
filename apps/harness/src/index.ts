// @nq/harness — the library behind the `nq` CLI, for scripts and tests.

export { fetchModelCommand } from './commands/fetch-model.js';
export { reportCommand } from './commands/report.js';
export { findRow, reproduceCommand, reproduceRow } from './commands/reproduce.js';
export { listSweeps, quickVariant, resolveSweepPath, sweepCommand } from './commands/sweep.js';
export { type Judgement, judge, type Outcome } from './report/verdict.js';
export { type Executor, type RunOptions, type RunSummary, runCells } from './runner.js';
export { formatLine, parseLine, ResultsStore } from './store/results-store.js';
export type { Provenance, ResultRow } from './store/row.js';
export { type CellOutcome, type KernelOps, runKernelCell } from './studies/kernel-study.js';
export type { CellSpec, KernelCell, ModelCell } from './sweep/cell.js';
export { type Cell, expandGrid, type Grid } from './sweep/grid.js';
export { loadSweepFile, parseSweep } from './sweep/load.js';
export { type Sweep, SweepSchema, type Verdict } from './sweep/schema.js';
export {
  PROFILE_NAMES,
  PROFILES,
  type SyntheticSpec,
  syntheticActivations,
  syntheticSpec,
  syntheticWeights,
} from './synthetic/profiles.js';
export { type ActivationStats, activationStats } from './synthetic/stats.js';
export { canonicalJson, sha256Hex, specId } from './util/canonical.js';
