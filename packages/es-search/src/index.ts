/**
 * @nq/es-search — evolution-strategy discovery of structured rotations (1–3 block-Hadamard stages
 * with sign vectors), cost = α·quantization error (int8 / int4 activations, W4A4 GEMM) + β·latency.
 * The CPU evaluator is the reference (`@nq/es-search/cpu`).
 */
export * from './types.js';
export { discover, baselineSpecs, baselineBlock } from './discover.js';
export {
  type Genome,
  type GenomeStage,
  MAX_GENOME_STAGES,
  allowedBlocks,
  structureKey,
  genomeKey,
  genomeDistance,
  cloneGenome,
  toRotationSpec,
  fromRotationSpec,
} from './genome.js';
export {
  type OperatorOptions,
  defaultOperatorOptions,
  randomGenome,
  seededStage,
  flipSigns,
  blockNeighbours,
  mutate,
  crossover,
  tournament,
} from './operators.js';
export { EvolutionSearch, resolveSettings, diversity, sortByCost, type Individual, type SearchSettings, type BatchErrorFn } from './search.js';
export { LatencyCache, measureStructure } from './latency.js';
export { CpuErrorEvaluator } from './cpu/evaluator.js';
export { captureLayerData, groupWeight, sampleRows, INPUT_GROUPS, type InputGroup, type CapturedLayer, type CaptureOptions } from './capture.js';
export {
  activationStats,
  activationStatsRotated,
  blockSpectrum,
  perLayerBestBlock,
  signTransfer,
  seededBlockHadamard,
  type ActivationStats,
  type SpectrumPoint,
  type LayerBestBlock,
  type TransferRow,
} from './analysis.js';
export { prepareRotatedW4A4, buildReference, evaluatePlan, type RotationPlan, type PlanEvaluation, type PreparedW4A4 } from './model-eval.js';
