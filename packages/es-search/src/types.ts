import type { Matrix } from '@nq/core';
import type { RotationSpec } from '@nq/hadamard';

/** What the rotation should make easy to quantize (see CpuErrorEvaluator for the exact definitions). */
export type QuantTarget = 'int8' | 'int4' | 'w4a4';

/** One linear input of a model: its activations and (for w4a4) the weight they meet. */
export interface LayerData {
  /** e.g. "L1.ffn" (layer 1, the gate/up input). */
  name: string;
  /** Activations, tokens × k. */
  x: Matrix;
  /** The weight the activations meet, out × k (q|k|v or gate|up concatenated along rows). Needed for 'w4a4'. */
  w?: Matrix;
}

/**
 * How the β term is obtained. Latency depends only on the structure (block sizes), so it is measured
 * once per structure and cached.
 * - `measure`: tinybench (`measure()` from @nq/core/bench) of rotating a `rows` × dim matrix on `backend`.
 * - `table`: fixed milliseconds per structure key (e.g. "64x768"); a missing key throws. Deterministic.
 * - `none`: latency 0 (β is then irrelevant).
 */
export type LatencyOptions =
  | { mode: 'measure'; backend?: 'cpu' | 'webgpu'; rows?: number; timeMs?: number }
  | { mode: 'table'; table: Record<string, number> }
  | { mode: 'none' };

export interface DiscoverOptions {
  /** The layer to search on (activations, and weights for 'w4a4'). */
  data: LayerData;
  /** Held-out data of the same layer to report generalisation (not used by the search). */
  holdout?: LayerData;
  target: QuantTarget;
  /** Master seed: every random choice comes from Rng(seed) forks. */
  seed: number;
  /** Weight of the relative quantization error (default 1). */
  alpha?: number;
  /** Weight of the latency in milliseconds (default 0). */
  beta?: number;
  latency?: LatencyOptions;
  /** Individuals per generation (default 24). */
  population?: number;
  /** Generations of the (first) phase (default 20). */
  generations?: number;
  /** Independent restarts (default 1); the best over all restarts wins. */
  restarts?: number;
  /** Individuals copied unchanged into the next generation (default 2). */
  elite?: number;
  /** Tournament size for parent selection (default 3). */
  tournamentSize?: number;
  /** Probability a child is made by crossover of two parents before mutation (default 0.5). */
  crossoverRate?: number;
  /** Per-sign flip probability (default min(0.05, 4/dim)). */
  signFlipRate?: number;
  /** Probability of a ×2/÷2 block mutation per child (default 0.3). */
  blockMutationRate?: number;
  /** Probabilities of inserting / removing a stage per child (default 0.1 each). */
  stageAddRate?: number;
  stageRemoveRate?: number;
  /** Block-size limits (default 1 .. dim); only supported Hadamard sizes dividing dim are used. */
  minBlock?: number;
  maxBlock?: number;
  /** Stages per genome, 1..3 (default 3). */
  maxStages?: number;
  /**
   * Two-phase mode: after the structure search, this many more generations fine-tune the signs of
   * the best genome with its structure frozen (default 0 = off).
   */
  signGenerations?: number;
  /** Block size of the "block random Hadamard" baseline row (default 128, or the nearest allowed). */
  baselineBlock?: number;
  /**
   * Where the search scores its batches: 'cpu' (default, the reference), 'webgpu' (int8/int4: one
   * submit and one read-back per generation; w4a4: one fused submit per candidate) or 'gpujs'
   * (@nq/es-search/gpujs: a batch is one rotate-as-GEMM kernel launch, see GpuJsErrorEvaluator). The
   * comparison table is always computed on the CPU. Same seed → same history holds on the CPU; on
   * the GPU backends errors differ from the CPU in the 6th–7th digit.
   */
  backend?: 'cpu' | 'webgpu' | 'gpujs';
  /** gpu.js mode for backend 'gpujs' (default 'webgpu'; 'webasm' and 'cpu' run everywhere). */
  gpujsMode?: 'webgpu' | 'webasm' | 'headlessgl' | 'cpu';
}

export interface GenerationRecord {
  restart: number;
  /** 1 = structure search, 2 = sign fine-tuning with the structure frozen. */
  phase: 1 | 2;
  generation: number;
  /** Best cost so far in this restart (elitist, so non-increasing). */
  best: number;
  /** Mean cost of this generation's population. */
  mean: number;
  /** Mean pairwise genome distance (1 for different structures, else the fraction of differing signs). */
  diversity: number;
  bestError: number;
  bestLatencyMs: number;
  bestStructure: string;
  /** Fresh cost evaluations so far (all restarts). */
  evaluations: number;
  elapsedSeconds: number;
}

export interface ComparisonRow {
  name: string;
  /** Block sizes, e.g. "768" or "12x256". */
  structure: string;
  error: number;
  /** Error on the held-out data, when given. */
  holdoutError?: number;
  latencyMs: number;
  cost: number;
}

export interface DiscoverResult {
  target: QuantTarget;
  seed: number;
  alpha: number;
  beta: number;
  /** The best rotation found (JSON; meta records how). */
  best: RotationSpec;
  bestError: number;
  bestLatencyMs: number;
  bestCost: number;
  history: GenerationRecord[];
  evaluations: number;
  wallSeconds: number;
  /** identity, full random Hadamard, block-b random Hadamard, best found. */
  comparison: ComparisonRow[];
  /** The latency cache (structure → ms), reusable as a `table` for deterministic reruns. */
  latencyTable: Record<string, number>;
}

export interface DiscoverProgress {
  record: GenerationRecord;
  /** Total generations planned (all restarts and phases). */
  totalGenerations: number;
}
