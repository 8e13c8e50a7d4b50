import { NqInputError, Rng } from '@nq/core';
import { measure } from '@nq/core/bench';
import { compileRotation } from '@nq/hadamard';
import { rotate } from '@nq/hadamard/cpu';
import { type Genome, structureKey, toRotationSpec } from './genome.js';
import type { LatencyOptions } from './types.js';

/**
 * Latency of a structure in milliseconds, cached per structure key: signs do not change how long a
 * rotation takes, so one measurement serves every genome with the same block sizes.
 */
export class LatencyCache {
  readonly table: Record<string, number> = {};
  /** Measurements actually taken (cache misses in 'measure' mode). */
  measurements = 0;

  constructor(
    private readonly options: LatencyOptions,
    readonly dim: number,
  ) {
    if (options.mode === 'table') {
      if (!options.table || typeof options.table !== 'object') {
        throw new NqInputError(
          'latency.table',
          'is missing',
          'Pass { mode: "table", table: { "<blocks>": ms } }, e.g. the latencyTable of an earlier result.',
        );
      }
      Object.assign(this.table, options.table);
    } else if (options.mode !== 'measure' && options.mode !== 'none') {
      throw new NqInputError(
        'latency.mode',
        `is ${JSON.stringify((options as { mode?: unknown }).mode)}`,
        "Use 'measure', 'table' or 'none'.",
      );
    }
  }

  async latencyMs(g: Genome): Promise<number> {
    if (this.options.mode === 'none') return 0;
    const key = structureKey(g);
    const hit = this.table[key];
    if (hit !== undefined) return hit;
    if (this.options.mode === 'table') {
      throw new NqInputError(
        'latency.table',
        `has no entry for structure "${key}"`,
        'Add it, or use latency { mode: "measure" } (then the search is not bit-reproducible when β > 0).',
      );
    }
    const backend = this.options.backend ?? 'cpu';
    const rows = this.options.rows ?? 256;
    const timeMs = this.options.timeMs ?? 100;
    // The first measurement in a process also pays for JIT compilation of the kernels: take it twice.
    if (this.measurements === 0) await measureStructure(g, backend, rows, timeMs);
    const ms = await measureStructure(g, backend, rows, timeMs);
    this.measurements++;
    this.table[key] = ms;
    return ms;
  }
}

/**
 * Median milliseconds (tinybench) of rotating a rows × dim matrix of fixed Gaussian data with this
 * structure on the backend. Signs are fixed (+1): they cost the same as any others.
 */
export async function measureStructure(
  g: Genome,
  backend: 'cpu' | 'webgpu',
  rows: number,
  timeMs: number,
): Promise<number> {
  const dim = g.dim;
  const x = { rows, cols: dim, data: new Rng(0).normals(rows * dim) };
  const spec = compileRotation(toRotationSpec(g));
  if (backend === 'cpu') {
    const out = { rows, cols: dim, data: new Float32Array(rows * dim) };
    const rec = await measure('es-search', {
      op: 'latency',
      backend,
      n: dim,
      time: timeMs,
      iterations: 5,
      fn: () => rotate(x, spec, { out, checkFinite: false }),
    });
    return rec.median_ms;
  }
  if (backend === 'webgpu') {
    const { getWebGPUDevice, uploadMatrix, destroyGpuMatrix } = await import('@nq/core/webgpu');
    const { prepareRotationWebGPU, rotateGpu } = await import('@nq/hadamard/webgpu');
    const { device } = await getWebGPUDevice();
    const prepared = await prepareRotationWebGPU(spec);
    const gx = uploadMatrix(device, x);
    try {
      const rec = await measure('es-search', {
        op: 'latency',
        backend,
        n: dim,
        time: timeMs,
        iterations: 5,
        fn: async () => {
          await rotateGpu(gx, prepared, { out: gx });
          await device.queue.onSubmittedWorkDone();
        },
      });
      return rec.median_ms;
    } finally {
      destroyGpuMatrix(gx);
      prepared.destroy();
    }
  }
  throw new NqInputError('latency.backend', `is ${JSON.stringify(backend)}`, "Use 'cpu' or 'webgpu'.");
}
