import type { Rng } from '@nq/core';
import { allowedBlocks, cloneGenome, type Genome, type GenomeStage } from './genome.js';

/** What the variation operators may do; every probability is per call (per child). */
export interface OperatorOptions {
  /** Probability that each sign of each stage flips. */
  signFlipRate: number;
  /** Probability that one stage's block size is doubled or halved (within the allowed sizes). */
  blockMutationRate: number;
  /** Probability that a random stage is inserted (when fewer than maxStages). */
  stageAddRate: number;
  /** Probability that a random stage is removed (when more than one). */
  stageRemoveRate: number;
  /** Allowed block sizes (supported Hadamard sizes dividing dim within [minBlock, maxBlock]). */
  blocks: number[];
  maxStages: number;
  /** Phase 2 of the two-phase mode: only signs change, the structure is frozen. */
  freezeStructure: boolean;
}

export function defaultOperatorOptions(dim: number): OperatorOptions {
  return {
    signFlipRate: Math.min(0.05, 4 / dim),
    blockMutationRate: 0.3,
    stageAddRate: 0.1,
    stageRemoveRate: 0.1,
    blocks: allowedBlocks(dim),
    maxStages: 3,
    freezeStructure: false,
  };
}

function randomSigns(dim: number, rng: Rng): Int8Array {
  const s = rng.signs(dim);
  const out = new Int8Array(dim);
  for (let i = 0; i < dim; i++) out[i] = s[i]! < 0 ? -1 : 1;
  return out;
}

function randomStage(dim: number, blocks: number[], rng: Rng): GenomeStage {
  return { block: blocks[rng.int(blocks.length)]!, signs: randomSigns(dim, rng) };
}

/** A random genome: 1 stage (60 %), 2 (25 %) or 3 (15 %), capped at maxStages; random blocks and signs. */
export function randomGenome(
  dim: number,
  rng: Rng,
  ops: Pick<OperatorOptions, 'blocks' | 'maxStages'>,
): Genome {
  const u = rng.uniform();
  const n = Math.min(ops.maxStages, u < 0.6 ? 1 : u < 0.85 ? 2 : 3);
  const stages: GenomeStage[] = [];
  for (let i = 0; i < n; i++) stages.push(randomStage(dim, ops.blocks, rng));
  return { dim, stages };
}

/** A genome of one stage with the given block and random signs (the seeds of a population). */
export function seededStage(dim: number, block: number, rng: Rng): Genome {
  return { dim, stages: [{ block, signs: randomSigns(dim, rng) }] };
}

/** Sign flips in place: each sign flips with probability `rate`. Returns how many flipped. */
export function flipSigns(signs: Int8Array, rate: number, rng: Rng): number {
  let n = 0;
  if (rate <= 0) return 0;
  for (let i = 0; i < signs.length; i++) {
    if (rng.uniform() < rate) {
      signs[i] = -signs[i]! as -1 | 1;
      n++;
    }
  }
  return n;
}

/** The block sizes reachable from `b` by ×2 or ÷2 that are allowed. */
export function blockNeighbours(b: number, blocks: number[]): number[] {
  const out: number[] = [];
  if (b % 2 === 0 && blocks.includes(b / 2)) out.push(b / 2);
  if (blocks.includes(b * 2)) out.push(b * 2);
  return out;
}

/** A mutated copy of `g` (g is not modified). */
export function mutate(g: Genome, rng: Rng, ops: OperatorOptions): Genome {
  const c = cloneGenome(g);
  for (const st of c.stages) flipSigns(st.signs, ops.signFlipRate, rng);
  if (ops.freezeStructure) return c;
  if (rng.uniform() < ops.blockMutationRate) {
    const st = c.stages[rng.int(c.stages.length)]!;
    const nb = blockNeighbours(st.block, ops.blocks);
    if (nb.length > 0) st.block = nb[rng.int(nb.length)]!;
  }
  if (c.stages.length < ops.maxStages && rng.uniform() < ops.stageAddRate) {
    c.stages.splice(rng.int(c.stages.length + 1), 0, randomStage(c.dim, ops.blocks, rng));
  }
  if (c.stages.length > 1 && rng.uniform() < ops.stageRemoveRate) {
    c.stages.splice(rng.int(c.stages.length), 1);
  }
  return c;
}

/**
 * Uniform crossover. The child takes the structure of `a`; for every stage i of `a` whose block
 * equals `b`'s stage i, each sign comes from a or b with probability ½; other stages are a's.
 * (With equal structures this is plain uniform crossover of the sign vectors.)
 */
export function crossover(a: Genome, b: Genome, rng: Rng): Genome {
  const c = cloneGenome(a);
  for (let i = 0; i < c.stages.length; i++) {
    const other = b.stages[i];
    if (!other || other.block !== c.stages[i]!.block) continue;
    const s = c.stages[i]!.signs;
    const o = other.signs;
    for (let j = 0; j < s.length; j++) if (rng.uniform() < 0.5) s[j] = o[j]!;
  }
  return c;
}

/** Tournament selection: the lowest cost among `k` uniformly drawn indices (with replacement). */
export function tournament(costs: ArrayLike<number>, k: number, rng: Rng): number {
  let best = rng.int(costs.length);
  for (let i = 1; i < k; i++) {
    const j = rng.int(costs.length);
    if (costs[j]! < costs[best]!) best = j;
  }
  return best;
}
