// @nq/harness — the library behind the `nq` CLI, for scripts and tests.
export { canonicalJson, sha256Hex, specId } from './util/canonical.js';
export { ResultsStore, formatLine, parseLine } from './store/results-store.js';
export type { ResultRow, Provenance } from './store/row.js';
export { SweepSchema, type Sweep, type Verdict } from './sweep/schema.js';
export { loadSweepFile, parseSweep } from './sweep/load.js';
export { expandGrid, type Cell, type Grid } from './sweep/grid.js';
export type { CellSpec, KernelCell, ModelCell } from './sweep/cell.js';
export { runCells, type RunOptions, type RunSummary, type Executor } from './runner.js';
export { runKernelCell, type KernelOps, type CellOutcome } from './studies/kernel-study.js';
export { PROFILES, PROFILE_NAMES, syntheticSpec, syntheticActivations, syntheticWeights, type SyntheticSpec } from './synthetic/profiles.js';
export { activationStats, type ActivationStats } from './synthetic/stats.js';
export { judge, type Judgement, type Outcome } from './report/verdict.js';
export { sweepCommand, quickVariant, resolveSweepPath, listSweeps } from './commands/sweep.js';
export { reportCommand } from './commands/report.js';
export { reproduceCommand, reproduceRow, findRow } from './commands/reproduce.js';
export { fetchModelCommand } from './commands/fetch-model.js';
