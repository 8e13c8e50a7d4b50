export { prepareWindowBench, type WindowBench } from './bench-window.js';
export { defaultCacheDir } from './cache/keys.js';
export { type RefManifest, readRefFile, writeRefFile } from './cache/ref-file.js';
export {
  buildReference,
  type CandidateScore,
  type ModelReference,
  type ReferenceOptions,
  type ScoreStats,
  scoreCandidate,
  scoreStats,
} from './candidate.js';
export { type EvalOptions, type EvalProgress, type EvalResult, evaluate, loadRecipe } from './evaluate.js';
export {
  FIRST_IN_GROUP,
  INPUT_GROUPS,
  type InputGroup,
  LINEAR_INPUT_GROUP,
  type PreparedRecipe,
  prepareRecipe,
} from './recipes/apply.js';
export {
  type ActQuant,
  BASE_RECIPES,
  type RecipeSpec,
  type RotationChoice,
  recipeFromName,
  resolveRecipe,
  validateRecipe,
  type WeightQuant,
} from './recipes/spec.js';
export { type RowFn, runWindows } from './run-windows.js';
export { formatLlamaCppReport } from './stats/format.js';
export { logSoftmaxRow } from './stats/log-softmax.js';
export * from './stats/reference.js';
export * from './stats/summary.js';
export * from './stats/token-scores.js';
export * from './windows.js';
