import os from 'node:os';
import { Bench } from 'tinybench';

/**
 * One shape for every benchmark measurement, printed as a JSON line with --json and as a table row
 * otherwise. `ratio` is always ours ÷ a baseline measured in the same run on the same machine
 * (e.g. GB/s ÷ triad GB/s), never a figure remembered from elsewhere.
 */
export interface BenchRecord {
  suite: string;
  op: string;
  backend: string;
  /** Transform/row size or the main dimension. */
  n: number;
  /** Extra shape info, e.g. "rows=16384". */
  shape?: string;
  /** Bytes read + written per pass. */
  bytes?: number;
  /** Floating-point operations per pass. */
  flops?: number;
  median_ms: number;
  p75_ms: number;
  p99_ms: number;
  samples: number;
  gbps?: number;
  gflops?: number;
  /** What `ratio` compares with, e.g. "triad-1t". */
  baseline?: string;
  ratio?: number;
  machine: string;
  [extra: string]: unknown;
}

export interface BenchCase {
  op: string;
  backend: string;
  n: number;
  shape?: string;
  bytes?: number;
  flops?: number;
  /** One pass. May be async (GPU work must be awaited to completion inside). */
  fn: () => unknown | Promise<unknown>;
  setup?: () => unknown | Promise<unknown>;
  /** Minimum time and iterations to sample. */
  time?: number;
  iterations?: number;
}

/** CPU model name, e.g. "AMD EPYC 9554 64-Core Processor ×2". */
export function cpuMachineName(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model?.trim() ?? 'unknown CPU'} ×${cpus.length}`;
}

/** Runs one case with tinybench and returns its record (without baseline/ratio). */
export async function measure(suite: string, c: BenchCase, machine = cpuMachineName()): Promise<BenchRecord> {
  if (c.setup) await c.setup();
  const bench = new Bench({
    time: c.time ?? 500,
    iterations: c.iterations ?? 5,
    warmup: true,
    warmupIterations: 2,
  });
  bench.add(c.op, c.fn);
  await bench.run();
  const task = bench.tasks[0]!;
  const r = task.result as unknown as { state?: string; error?: unknown; latency?: Record<string, number> };
  if (r?.error) throw r.error;
  const lat = r?.latency ?? {};
  const median = lat.p50 ?? lat.mean ?? Number.NaN;
  const rec: BenchRecord = {
    suite,
    op: c.op,
    backend: c.backend,
    n: c.n,
    ...(c.shape ? { shape: c.shape } : {}),
    ...(c.bytes !== undefined ? { bytes: c.bytes } : {}),
    ...(c.flops !== undefined ? { flops: c.flops } : {}),
    median_ms: median,
    p75_ms: lat.p75 ?? Number.NaN,
    p99_ms: lat.p99 ?? Number.NaN,
    samples: (lat.samplesCount as number | undefined) ?? (r as { samples?: number[] }).samples?.length ?? 0,
    machine,
  };
  if (c.bytes !== undefined) rec.gbps = c.bytes / (median * 1e6);
  if (c.flops !== undefined) rec.gflops = c.flops / (median * 1e6);
  return rec;
}

/** Attach a same-run baseline: ratio = this record's gbps (or gflops) ÷ the baseline's. */
export function withBaseline(
  rec: BenchRecord,
  baselineName: string,
  baselineValue: number,
  metric: 'gbps' | 'gflops' = 'gbps',
): BenchRecord {
  const v = rec[metric];
  return {
    ...rec,
    baseline: baselineName,
    ratio: typeof v === 'number' && baselineValue > 0 ? v / baselineValue : undefined,
  };
}

/** Prints records either as JSON lines or as an aligned table. */
export function printRecords(
  records: BenchRecord[],
  json: boolean,
  out: (s: string) => void = (s) => process.stdout.write(s),
): void {
  if (json) {
    for (const r of records) out(`${JSON.stringify(r)}\n`);
    return;
  }
  const cols: [string, (r: BenchRecord) => string][] = [
    ['suite', (r) => r.suite],
    ['op', (r) => r.op],
    ['backend', (r) => r.backend],
    ['n', (r) => String(r.n)],
    ['shape', (r) => r.shape ?? ''],
    ['median ms', (r) => fmt(r.median_ms)],
    ['p99 ms', (r) => fmt(r.p99_ms)],
    ['GB/s', (r) => (r.gbps !== undefined ? fmt(r.gbps) : '')],
    ['GFLOP/s', (r) => (r.gflops !== undefined ? fmt(r.gflops) : '')],
    ['vs', (r) => r.baseline ?? ''],
    ['ratio', (r) => (r.ratio !== undefined ? r.ratio.toFixed(3) : '')],
  ];
  const rows = records.map((r) => cols.map(([, f]) => f(r)));
  const widths = cols.map(([h], i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  out(`${line(cols.map(([h]) => h))}\n`);
  for (const row of rows) out(`${line(row)}\n`);
  if (records[0]) out(`machine: ${records[0].machine}\n`);
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v >= 100) return v.toFixed(1);
  if (v >= 1) return v.toFixed(3);
  return v.toPrecision(3);
}
