/**
 * @nq/es-search — evolution-strategy discovery of structured rotations (1–3 block-Hadamard stages
 * with sign vectors), cost = α·quantization error (int8 / int4 activations, W4A4 GEMM) + β·latency.
 * The CPU evaluator is the reference (`@nq/es-search/cpu`).
 */

export {
  type ActivationStats,
  activationStats,
  activationStatsRotated,
  blockSpectrum,
  type LayerBestBlock,
  perLayerBestBlock,
  type SpectrumPoint,
  seededBlockHadamard,
  signTransfer,
  type TransferRow,
} from './analysis.js';
export {
  type CapturedLayer,
  type CaptureOptions,
  captureLayerData,
  groupWeight,
  INPUT_GROUPS,
  type InputGroup,
  sampleRows,
} from './capture.js';
export { CpuErrorEvaluator } from './cpu/evaluator.js';
export { baselineBlock, baselineSpecs, discover } from './discover.js';
export {
  allowedBlocks,
  cloneGenome,
  fromRotationSpec,
  type Genome,
  type GenomeStage,
  genomeDistance,
  genomeKey,
  MAX_GENOME_STAGES,
  structureKey,
  toRotationSpec,
} from './genome.js';
export { LatencyCache, measureStructure } from './latency.js';
export {
  buildReference,
  evaluatePlan,
  type PlanEvaluation,
  type PreparedW4A4,
  pairedDifference,
  prepareRotatedW4A4,
  type RotationPlan,
} from './model-eval.js';
export {
  blockNeighbours,
  crossover,
  defaultOperatorOptions,
  flipSigns,
  mutate,
  type OperatorOptions,
  randomGenome,
  seededStage,
  tournament,
} from './operators.js';
export {
  type BatchErrorFn,
  diversity,
  EvolutionSearch,
  type Individual,
  resolveSettings,
  type SearchSettings,
  sortByCost,
} from './search.js';
export * from './types.js';
