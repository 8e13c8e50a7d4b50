import { NqInputError } from '@nq/core';
import { isSupportedSize, type RotationSpec, validateRotationSpec } from '@nq/hadamard';

/**
 * The genome the search evolves: a cascade of 1..MAX_GENOME_STAGES block-diagonal Hadamard stages,
 * each with its own ±1 sign vector (length dim). It is exactly a RotationSpec of `hadamard` stages:
 * R = Π_s D_s·blockdiag(H_b_s)/√b_s (stage 1 first), which is what `toRotationSpec` writes.
 *
 * Signs live in Int8Array (compact, cheap to copy and compare); the structure (the list of block
 * sizes) is what latency depends on, so it has its own key.
 */
export interface GenomeStage {
  block: number;
  /** ±1 per channel, applied before the stage's block Hadamard. */
  signs: Int8Array;
}

export interface Genome {
  dim: number;
  stages: GenomeStage[];
}

export const MAX_GENOME_STAGES = 3;

/** Block sizes a stage may take for `dim`: supported Hadamard sizes dividing dim within [minBlock, maxBlock]. */
export function allowedBlocks(dim: number, minBlock = 1, maxBlock = dim): number[] {
  const out: number[] = [];
  for (let b = Math.max(1, minBlock); b <= Math.min(dim, maxBlock); b++) {
    if (dim % b === 0 && isSupportedSize(b)) out.push(b);
  }
  return out;
}

/** The structure of a genome (its block sizes, in order), e.g. "64" or "12x256". Signs do not enter. */
export function structureKey(g: Genome): string {
  return g.stages.map((s) => s.block).join('x');
}

export function cloneGenome(g: Genome): Genome {
  return { dim: g.dim, stages: g.stages.map((s) => ({ block: s.block, signs: s.signs.slice() })) };
}

/** The RotationSpec this genome denotes (signs as plain arrays, so it serialises as JSON as is). */
export function toRotationSpec(g: Genome, meta?: Record<string, unknown>): RotationSpec {
  const spec: RotationSpec = {
    version: 1,
    dim: g.dim,
    stages: g.stages.map((s) => ({ kind: 'hadamard' as const, block: s.block, signs: Array.from(s.signs) })),
  };
  if (meta) spec.meta = meta;
  return spec;
}

/** Reads a RotationSpec of 1..3 hadamard stages back into a genome (missing signs = all +1). */
export function fromRotationSpec(spec: RotationSpec, name = 'spec'): Genome {
  validateRotationSpec(spec, name);
  if (spec.stages.length > MAX_GENOME_STAGES) {
    throw new NqInputError(
      `${name}.stages`,
      `has ${spec.stages.length} stages, a genome has 1..${MAX_GENOME_STAGES}`,
      'Start the search from a spec with at most 3 Hadamard stages.',
    );
  }
  const stages = spec.stages.map((st, i) => {
    if (st.kind !== 'hadamard') {
      throw new NqInputError(
        `${name}.stages[${i}].kind`,
        `is '${st.kind}'`,
        "The search evolves 'hadamard' stages only: pass a spec built from blockHadamard()/randomHadamard().",
      );
    }
    const signs = new Int8Array(spec.dim).fill(1);
    if (st.signs) for (let j = 0; j < spec.dim; j++) signs[j] = st.signs[j]! < 0 ? -1 : 1;
    return { block: st.block, signs };
  });
  return { dim: spec.dim, stages };
}

/**
 * Distance of two genomes in [0, 1]: 1 when their structures differ, else the fraction of sign
 * positions (over all stages) where they differ. `diversity` in the history is its mean over pairs.
 */
export function genomeDistance(a: Genome, b: Genome): number {
  if (a.stages.length !== b.stages.length) return 1;
  for (let s = 0; s < a.stages.length; s++) if (a.stages[s]!.block !== b.stages[s]!.block) return 1;
  let diff = 0;
  let total = 0;
  for (let s = 0; s < a.stages.length; s++) {
    const x = a.stages[s]!.signs;
    const y = b.stages[s]!.signs;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) diff++;
    total += x.length;
  }
  return total === 0 ? 0 : diff / total;
}

/** An exact key of the whole genome (structure, then each stage's signs packed 4 per hex digit). */
export function genomeKey(g: Genome): string {
  const parts: string[] = [structureKey(g)];
  for (const s of g.stages) {
    let hex = '';
    for (let i = 0; i < s.signs.length; i += 4) {
      let v = 0;
      for (let j = 0; j < 4 && i + j < s.signs.length; j++) if (s.signs[i + j]! < 0) v |= 1 << j;
      hex += v.toString(16);
    }
    parts.push(hex);
  }
  return parts.join(':');
}
