import type { BenchRecord } from '@nq/core/bench';

/**
 * A benchmark suite. The runner (src/cli.ts) discovers every module in src/suites/ whose default
 * export is a Suite, so adding a suite is adding one file. Before any suite runs, the runner measures
 * the memory bandwidth of this machine (STREAM-like triad, 1 thread and all threads) and passes it
 * in `ctx.baselines`, so every suite can report ratio = ours ÷ bandwidth from the same run.
 */
export interface SuiteContext {
  /** Only run this backend ('cpu' | 'webgpu' | 'gpujs'), or all the suite supports. */
  backend?: string;
  /** Smaller sizes and fewer samples (CI smoke runs). */
  quick: boolean;
  /** Named in-run baselines, e.g. 'triad-1t' and 'triad-all' in GB/s. */
  baselines: Map<string, number>;
  /** CPU model name, for records measured on the CPU. */
  machine: string;
  /** Progress messages go to stderr so that --json stdout stays clean. */
  log: (msg: string) => void;
  /** The triad baseline's own records from this run (the runner fills it; suites may ignore it). */
  baselineRecords?: BenchRecord[];
}

export interface Suite {
  name: string;
  description: string;
  run(ctx: SuiteContext): Promise<BenchRecord[]>;
}
