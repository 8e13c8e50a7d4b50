import { NqInputError, Rng } from '@nq/core';
import { type CompiledRotation, compileRotation } from '@nq/hadamard';
import {
  allowedBlocks,
  type Genome,
  genomeDistance,
  genomeKey,
  MAX_GENOME_STAGES,
  structureKey,
  toRotationSpec,
} from './genome.js';
import type { LatencyCache } from './latency.js';
import {
  crossover,
  mutate,
  type OperatorOptions,
  randomGenome,
  seededStage,
  tournament,
} from './operators.js';
import type { DiscoverOptions, GenerationRecord } from './types.js';

/** Anything that scores a batch of rotations (the CPU evaluator; a GPU one would fit the same slot). */
export type BatchErrorFn = (specs: CompiledRotation[]) => Float64Array | Promise<Float64Array>;

export interface Individual {
  genome: Genome;
  error: number;
  latencyMs: number;
  cost: number;
}

/** Fully resolved search settings (defaults filled, validated). */
export interface SearchSettings {
  seed: number;
  alpha: number;
  beta: number;
  population: number;
  generations: number;
  restarts: number;
  elite: number;
  tournamentSize: number;
  crossoverRate: number;
  signGenerations: number;
  operators: OperatorOptions;
}

const isInt = (v: unknown, lo: number) => Number.isInteger(v) && (v as number) >= lo;

export function resolveSettings(o: DiscoverOptions, dim: number): SearchSettings {
  const bad = (arg: string, v: unknown, fix: string): never => {
    throw new NqInputError(arg, `is ${JSON.stringify(v)}`, fix);
  };
  if (!isInt(o.seed, 0) || o.seed >= 2 ** 53) bad('seed', o.seed, 'Pass a non-negative integer seed.');
  const population = o.population ?? 24;
  if (!isInt(population, 2)) bad('population', population, 'Use an integer ≥ 2.');
  const generations = o.generations ?? 20;
  if (!isInt(generations, 0)) bad('generations', generations, 'Use an integer ≥ 0.');
  const restarts = o.restarts ?? 1;
  if (!isInt(restarts, 1)) bad('restarts', restarts, 'Use an integer ≥ 1.');
  const elite = o.elite ?? 2;
  if (!isInt(elite, 0) || elite >= population) bad('elite', elite, 'Use an integer in [0, population).');
  const tournamentSize = o.tournamentSize ?? 3;
  if (!isInt(tournamentSize, 1)) bad('tournamentSize', tournamentSize, 'Use an integer ≥ 1.');
  const signGenerations = o.signGenerations ?? 0;
  if (!isInt(signGenerations, 0))
    bad('signGenerations', signGenerations, 'Use an integer ≥ 0 (0 = single phase).');
  const alpha = o.alpha ?? 1;
  const beta = o.beta ?? 0;
  if (!(alpha >= 0 && Number.isFinite(alpha))) bad('alpha', alpha, 'Use a finite number ≥ 0.');
  if (!(beta >= 0 && Number.isFinite(beta))) bad('beta', beta, 'Use a finite number ≥ 0.');
  const prob = (name: string, v: number | undefined, d: number): number => {
    const p = v ?? d;
    if (!(p >= 0 && p <= 1)) bad(name, p, 'Use a probability in [0, 1].');
    return p;
  };
  const crossoverRate = prob('crossoverRate', o.crossoverRate, 0.5);
  const maxStages = o.maxStages ?? MAX_GENOME_STAGES;
  if (!isInt(maxStages, 1) || maxStages > MAX_GENOME_STAGES)
    bad('maxStages', maxStages, `Use 1..${MAX_GENOME_STAGES}.`);
  const blocks = allowedBlocks(dim, o.minBlock ?? 1, o.maxBlock ?? dim);
  if (blocks.length === 0) {
    bad(
      'minBlock/maxBlock',
      [o.minBlock, o.maxBlock],
      `No supported Hadamard size dividing ${dim} lies in that range: widen it (allowed: ${allowedBlocks(dim).join(', ')}).`,
    );
  }
  return {
    seed: o.seed,
    alpha,
    beta,
    population,
    generations,
    restarts,
    elite,
    tournamentSize,
    crossoverRate,
    signGenerations,
    operators: {
      signFlipRate: prob('signFlipRate', o.signFlipRate, Math.min(0.05, 4 / dim)),
      blockMutationRate: prob('blockMutationRate', o.blockMutationRate, 0.3),
      stageAddRate: prob('stageAddRate', o.stageAddRate, 0.1),
      stageRemoveRate: prob('stageRemoveRate', o.stageRemoveRate, 0.1),
      blocks,
      maxStages,
      freezeStructure: false,
    },
  };
}

/** Mean pairwise genome distance of a population. */
export function diversity(pop: readonly Individual[]): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < pop.length; i++)
    for (let j = i + 1; j < pop.length; j++) {
      s += genomeDistance(pop[i]!.genome, pop[j]!.genome);
      n++;
    }
  return n === 0 ? 0 : s / n;
}

/**
 * The evolution strategy: a generational GA with elitism and tournament selection.
 *
 * Per restart r (Rng(seed).fork(`restart<r>`)): an initial population of single-stage genomes with
 * block sizes spread over the allowed range (half the population, at most one per size) plus random
 * genomes; then `generations` generations of: keep the `elite` best, fill the rest with children —
 * two tournament-selected parents, uniform crossover with probability crossoverRate, then mutation
 * (sign flips, ×2/÷2 block, stage add/remove). Phase 2 (two-phase mode) restarts from the best
 * genome with the structure frozen and only sign flips + crossover, for signGenerations more.
 *
 * All new genomes of a generation are scored in ONE batch call; duplicates (same structure and
 * signs) are looked up, not re-scored. Latency comes from the cache (one value per structure).
 */
export class EvolutionSearch {
  evaluations = 0;
  readonly history: GenerationRecord[] = [];
  private readonly memo = new Map<string, { error: number }>();
  private readonly t0 = performance.now();

  constructor(
    private readonly dim: number,
    private readonly settings: SearchSettings,
    private readonly batchErrors: BatchErrorFn,
    private readonly latency: LatencyCache,
    private readonly onGeneration?: (r: GenerationRecord) => void,
  ) {}

  /** Scores genomes: errors in one batch for the unseen ones, latency per structure. */
  async score(genomes: Genome[]): Promise<Individual[]> {
    const keys = genomes.map(genomeKey);
    const fresh: number[] = [];
    const seen = new Set<string>();
    keys.forEach((k, i) => {
      if (!this.memo.has(k) && !seen.has(k)) {
        seen.add(k);
        fresh.push(i);
      }
    });
    if (fresh.length > 0) {
      const errs = await this.batchErrors(fresh.map((i) => compileRotation(toRotationSpec(genomes[i]!))));
      for (let j = 0; j < fresh.length; j++) this.memo.set(keys[fresh[j]!]!, { error: errs[j]! });
      this.evaluations += fresh.length;
    }
    const out: Individual[] = [];
    for (let i = 0; i < genomes.length; i++) {
      const error = this.memo.get(keys[i]!)!.error;
      const latencyMs = await this.latency.latencyMs(genomes[i]!);
      out.push({
        genome: genomes[i]!,
        error,
        latencyMs,
        cost: this.settings.alpha * error + this.settings.beta * latencyMs,
      });
    }
    return out;
  }

  /** Runs every restart (and phase 2 when asked); returns the best individual overall. */
  async run(): Promise<Individual> {
    const s = this.settings;
    let best: Individual | null = null;
    for (let r = 0; r < s.restarts; r++) {
      const rng = new Rng(s.seed).fork(`restart${r}`);
      let pop = await this.score(this.initialPopulation(rng.fork('init')));
      pop = await this.evolve(pop, r, 1, s.generations, s.operators, rng.fork('phase1'));
      if (s.signGenerations > 0) {
        const frozen = { ...s.operators, freezeStructure: true };
        const prng = rng.fork('phase2');
        // Phase 2 population: the best genome and sign-mutated copies of it.
        const top = pop[0]!.genome;
        const seeds: Genome[] = [top];
        while (seeds.length < s.population) seeds.push(mutate(top, prng, frozen));
        const p2 = await this.score(seeds);
        pop = await this.evolve(sortByCost(p2), r, 2, s.signGenerations, frozen, prng);
      }
      if (!best || pop[0]!.cost < best.cost) best = pop[0]!;
    }
    return best!;
  }

  private initialPopulation(rng: Rng): Genome[] {
    const { blocks } = this.settings.operators;
    const n = this.settings.population;
    const out: Genome[] = [];
    const spread = Math.min(blocks.length, Math.floor(n / 2));
    for (let i = 0; i < spread; i++) {
      const idx = spread === 1 ? blocks.length - 1 : Math.round((i * (blocks.length - 1)) / (spread - 1));
      out.push(seededStage(this.dim, blocks[idx]!, rng));
    }
    while (out.length < n) out.push(randomGenome(this.dim, rng, this.settings.operators));
    return out;
  }

  private async evolve(
    start: Individual[],
    restart: number,
    phase: 1 | 2,
    generations: number,
    ops: OperatorOptions,
    rng: Rng,
  ): Promise<Individual[]> {
    const s = this.settings;
    let pop = sortByCost(start);
    this.record(pop, restart, phase, 0);
    for (let g = 1; g <= generations; g++) {
      const costs = pop.map((p) => p.cost);
      const children: Genome[] = [];
      while (children.length < s.population - s.elite) {
        const a = pop[tournament(costs, s.tournamentSize, rng)]!.genome;
        let child = a;
        if (rng.uniform() < s.crossoverRate) {
          const b = pop[tournament(costs, s.tournamentSize, rng)]!.genome;
          child = crossover(a, b, rng);
        }
        children.push(mutate(child, rng, ops));
      }
      const scored = await this.score(children);
      pop = sortByCost([...pop.slice(0, s.elite), ...scored]);
      this.record(pop, restart, phase, g);
    }
    return pop;
  }

  private record(pop: Individual[], restart: number, phase: 1 | 2, generation: number): void {
    const b = pop[0]!;
    const prevBest =
      this.history.length > 0 && this.history.at(-1)!.restart === restart
        ? this.history.at(-1)!.best
        : Number.POSITIVE_INFINITY;
    const rec: GenerationRecord = {
      restart,
      phase,
      generation,
      best: Math.min(b.cost, prevBest),
      mean: pop.reduce((a, p) => a + p.cost, 0) / pop.length,
      diversity: diversity(pop),
      bestError: b.error,
      bestLatencyMs: b.latencyMs,
      bestStructure: structureKey(b.genome),
      evaluations: this.evaluations,
      elapsedSeconds: (performance.now() - this.t0) / 1000,
    };
    this.history.push(rec);
    this.onGeneration?.(rec);
  }
}

/** Stable sort by cost (ties keep their order, so runs are reproducible). */
export function sortByCost(pop: Individual[]): Individual[] {
  return pop
    .map((p, i) => ({ p, i }))
    .sort((a, b) => a.p.cost - b.p.cost || a.i - b.i)
    .map((x) => x.p);
}
