import { assertMatrix, NqInputError, Rng } from '@nq/core';
import { identity, type RotationSpec } from '@nq/hadamard';
import { CpuErrorEvaluator } from './cpu/evaluator.js';
import { allowedBlocks, fromRotationSpec, structureKey, toRotationSpec } from './genome.js';
import { LatencyCache } from './latency.js';
import { type BatchErrorFn, EvolutionSearch, resolveSettings } from './search.js';
import type { ComparisonRow, DiscoverOptions, DiscoverProgress, DiscoverResult } from './types.js';

/**
 * Block of the "block random Hadamard" baseline: the largest allowed size ≤ min(want, dim/2), so the
 * row always differs from the full random Hadamard (128 for dims 256 and 768).
 */
export function baselineBlock(dim: number, want = 128): number {
  const ok = allowedBlocks(dim).filter((b) => b <= Math.min(want, dim / 2));
  return ok.length > 0 ? ok[ok.length - 1]! : 1;
}

/** The seeded baseline rotations: identity, full random Hadamard, block-b random Hadamard (signs from Rng(seed).fork(...)). */
export function baselineSpecs(
  dim: number,
  seed: number,
  block = baselineBlock(dim),
): { name: string; spec: RotationSpec }[] {
  const full = allowedBlocks(dim).includes(dim) ? dim : Math.max(...allowedBlocks(dim));
  const signsFor = (label: string) => Array.from(new Rng(seed).fork(label).signs(dim));
  const had = (b: number, label: string): RotationSpec => ({
    version: 1,
    dim,
    stages: [{ kind: 'hadamard', block: b, signs: signsFor(label) }],
    meta: { generator: 'es-search baseline', label, seed },
  });
  return [
    { name: 'identity', spec: identity(dim) },
    { name: `random Hadamard ${full}`, spec: had(full, 'baseline-full') },
    { name: `block-${block} random Hadamard`, spec: had(block, `baseline-block${block}`) },
  ];
}

/**
 * Searches a structured rotation (1–3 block-Hadamard stages with sign vectors) for one layer's data
 * that minimises α·error(target) + β·latency(ms). CPU evaluation (batched per generation); latency
 * per structure from `options.latency` (default: none when β = 0, else measured on the CPU).
 *
 * Deterministic: the same options give the same history and best spec, except where latency is
 * measured with β > 0 (timings differ between runs; use a `table` to replay).
 */
export async function discover(
  options: DiscoverOptions,
  onProgress?: (p: DiscoverProgress) => void,
): Promise<DiscoverResult> {
  const t0 = performance.now();
  if (!options || typeof options !== 'object')
    throw new NqInputError('options', 'is missing', 'Pass { data: { name, x, w? }, target, seed }.');
  if (!options.data || typeof options.data !== 'object')
    throw new NqInputError(
      'options.data',
      'is missing',
      'Pass { name, x: tokens × k Matrix, w?: out × k Matrix }.',
    );
  assertMatrix(options.data.x, 'options.data.x');
  const dim = options.data.x.cols;
  const settings = resolveSettings(options, dim);
  const evaluator = new CpuErrorEvaluator(options.data.x, options.data.w, options.target);
  const holdout = options.holdout
    ? new CpuErrorEvaluator(options.holdout.x, options.holdout.w, options.target)
    : null;
  if (holdout && holdout.dim !== dim)
    throw new NqInputError(
      'options.holdout.x',
      `has ${holdout.dim} columns, data has ${dim}`,
      'Hold out tokens of the same layer input.',
    );
  const latency = new LatencyCache(
    options.latency ?? (settings.beta > 0 ? { mode: 'measure' } : { mode: 'none' }),
    dim,
  );

  const phase2 = settings.signGenerations;
  const totalGenerations = settings.restarts * (settings.generations + 1 + (phase2 > 0 ? phase2 + 1 : 0));
  const backend = options.backend ?? 'cpu';
  if (backend !== 'cpu' && backend !== 'webgpu' && backend !== 'gpujs')
    throw new NqInputError(
      'options.backend',
      `is ${JSON.stringify(backend)}`,
      "Use 'cpu', 'webgpu' or 'gpujs'.",
    );
  let batch: BatchErrorFn = (specs) => evaluator.errors(specs);
  let release = () => {};
  if (backend === 'webgpu') {
    const { WebGPUErrorEvaluator } = await import('./webgpu/evaluator.js');
    const gpu = await WebGPUErrorEvaluator.create(options.data.x, options.target, options.data.w);
    batch = (specs) => gpu.errors(specs);
    release = () => gpu.destroy();
  } else if (backend === 'gpujs') {
    const { GpuJsErrorEvaluator } = await import('./gpujs/evaluator.js');
    const gj = await GpuJsErrorEvaluator.create(options.data.x, options.target, options.data.w, {
      mode: options.gpujsMode,
    });
    batch = (specs) => gj.errors(specs);
    release = () => gj.destroy();
  }
  const search = new EvolutionSearch(dim, settings, batch, latency, (record) =>
    onProgress?.({ record, totalGenerations }),
  );
  let best: Awaited<ReturnType<EvolutionSearch['run']>>;
  try {
    best = await search.run();
  } finally {
    release();
  }

  const rowFor = async (name: string, spec: RotationSpec): Promise<ComparisonRow> => {
    const g = fromRotationSpec(spec);
    const error = evaluator.error(spec);
    const latencyMs = await latency.latencyMs(g);
    const row: ComparisonRow = {
      name,
      structure: structureKey(g),
      error,
      latencyMs,
      cost: settings.alpha * error + settings.beta * latencyMs,
    };
    if (holdout) row.holdoutError = holdout.error(spec);
    return row;
  };
  const bestSpec = toRotationSpec(best.genome, {
    generator: '@nq/es-search discover',
    target: options.target,
    seed: settings.seed,
    alpha: settings.alpha,
    beta: settings.beta,
    layer: options.data.name,
    error: best.error,
  });
  const comparison: ComparisonRow[] = [];
  for (const b of baselineSpecs(dim, settings.seed, options.baselineBlock ?? baselineBlock(dim)))
    comparison.push(await rowFor(b.name, b.spec));
  comparison.push(await rowFor('best found', bestSpec));

  return {
    target: options.target,
    seed: settings.seed,
    alpha: settings.alpha,
    beta: settings.beta,
    best: bestSpec,
    bestError: best.error,
    bestLatencyMs: best.latencyMs,
    bestCost: best.cost,
    history: search.history,
    evaluations: search.evaluations,
    wallSeconds: (performance.now() - t0) / 1000,
    comparison,
    latencyTable: { ...latency.table },
  };
}
