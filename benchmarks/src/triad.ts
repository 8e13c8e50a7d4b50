import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { BenchRecord } from '@nq/core/bench';
import { cpuMachineName } from '@nq/core/bench';

/**
 * STREAM-style triad, a[i] = b[i] + s·c[i], the memory-bandwidth yardstick every nq benchmark is
 * divided by. Each element moves 3 × 4 bytes (read b and c, write a; write-allocate traffic is not
 * counted, as in STREAM). The arrays are float32 on one SharedArrayBuffer, far larger than any
 * last-level cache, and the same workers run the 1-thread and all-threads passes so the two numbers
 * differ only in parallelism. The reported rate is the best pass (STREAM's convention: the best pass
 * is the one least disturbed by the rest of the machine); median/p75/p99 of the passes are kept too.
 */
export interface TriadOptions {
  /** Elements per array (default 32 Mi = 128 MiB per array; quick runs use 8 Mi). */
  n?: number;
  /** Threads for the "all" measurement (default os.availableParallelism()). */
  threads?: number;
  /** Timed passes per measurement (default 10). */
  passes?: number;
  log?: (msg: string) => void;
}

export interface TriadResult {
  /** Best-pass GB/s on one thread and on all threads. */
  gbps1t: number;
  gbpsAll: number;
  threads: number;
  records: BenchRecord[];
}

export const TRIAD_BYTES_PER_ELEMENT = 12;
const SCALAR = 3;

// The worker is plain JavaScript passed with `eval: true`, so it runs the same under tsx, vitest and
// a built dist (no loader needed for a .ts worker file). Protocol over a shared Int32Array `ctl`:
//   ctl[0] generation (main bumps it to start a pass), ctl[1] number of workers that finished,
//   ctl[2] active workers for this pass; worker k with k < active does its contiguous slice.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { sab, ctlSab, n, index, scalar } = workerData;
const a = new Float32Array(sab, 0, n);
const b = new Float32Array(sab, n * 4, n);
const c = new Float32Array(sab, n * 8, n);
const ctl = new Int32Array(ctlSab);
let seen = 0;
for (;;) {
  Atomics.wait(ctl, 0, seen);
  seen = Atomics.load(ctl, 0);
  if (seen < 0) break;
  const active = Atomics.load(ctl, 2);
  if (index < active) {
    const chunk = Math.ceil(n / active);
    const lo = index * chunk;
    const hi = Math.min(n, lo + chunk);
    for (let i = lo; i < hi; i++) a[i] = b[i] + scalar * c[i];
  }
  Atomics.add(ctl, 1, 1);
  Atomics.notify(ctl, 1);
}
`;

/** Measures triad bandwidth on 1 thread and on `threads` threads; returns both and their records. */
export async function measureTriad(options: TriadOptions = {}): Promise<TriadResult> {
  const n = options.n ?? 32 * 1024 * 1024;
  const threads = Math.max(1, options.threads ?? os.availableParallelism());
  const passes = Math.max(3, options.passes ?? 10);
  const log = options.log ?? (() => {});
  const sab = new SharedArrayBuffer(n * 12);
  const b = new Float32Array(sab, n * 4, n);
  const c = new Float32Array(sab, n * 8, n);
  // Touch every page (and give the data a non-trivial value) before timing.
  for (let i = 0; i < n; i++) {
    b[i] = (i % 1024) * 0.5;
    c[i] = (i % 97) * 0.25;
  }
  const ctlSab = new SharedArrayBuffer(16);
  const ctl = new Int32Array(ctlSab);
  const workers = Array.from(
    { length: threads },
    (_, index) =>
      new Worker(WORKER_SOURCE, { eval: true, workerData: { sab, ctlSab, n, index, scalar: SCALAR } }),
  );
  const errors: Error[] = [];
  for (const w of workers) w.on('error', (e) => errors.push(e));
  try {
    const pass = (active: number): number => {
      Atomics.store(ctl, 1, 0);
      Atomics.store(ctl, 2, active);
      const t0 = performance.now();
      Atomics.add(ctl, 0, 1);
      Atomics.notify(ctl, 0);
      // Every worker reports, active or not, so the next pass cannot start under a straggler.
      for (;;) {
        const done = Atomics.load(ctl, 1);
        if (done >= threads) break;
        if (errors.length) throw errors[0];
        Atomics.wait(ctl, 1, done, 1000);
      }
      return performance.now() - t0;
    };
    const run = (active: number, label: string): number[] => {
      pass(active); // warm-up (JIT, page mapping on the write side)
      pass(active);
      const times: number[] = [];
      for (let p = 0; p < passes; p++) times.push(pass(active));
      log(`triad ${label}: best ${Math.min(...times).toFixed(2)} ms over ${passes} passes`);
      return times;
    };
    const t1 = run(1, '1 thread');
    const tAll = threads > 1 ? run(threads, `${threads} threads`) : t1;
    checkResult(new Float32Array(sab, 0, n), b, c);
    const machine = cpuMachineName();
    const bytes = n * TRIAD_BYTES_PER_ELEMENT;
    const r1 = record('triad-1t', 1, n, bytes, t1, machine);
    const rAll = record('triad-all', threads, n, bytes, tAll, machine);
    const gbps1t = r1.gbps!;
    const gbpsAll = rAll.gbps!;
    // Ratios: the share of the whole machine's bandwidth one thread gets, and the parallel speed-up.
    r1.baseline = 'triad-all';
    r1.ratio = gbps1t / gbpsAll;
    rAll.baseline = 'triad-1t';
    rAll.ratio = gbpsAll / gbps1t;
    return { gbps1t, gbpsAll, threads, records: [r1, rAll] };
  } finally {
    Atomics.store(ctl, 0, -1);
    Atomics.notify(ctl, 0);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function record(
  op: string,
  threads: number,
  n: number,
  bytes: number,
  times: number[],
  machine: string,
): BenchRecord {
  const sorted = [...times].sort((x, y) => x - y);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  const best = sorted[0]!;
  return {
    suite: 'triad',
    op,
    backend: 'cpu',
    n,
    shape: `threads=${threads}`,
    bytes,
    median_ms: q(0.5),
    p75_ms: q(0.75),
    p99_ms: q(0.99),
    best_ms: best,
    samples: times.length,
    gbps: bytes / (best * 1e6),
    threads,
    machine,
  };
}

/** A wrong triad would make every ratio wrong: spot-check the result against the definition. */
function checkResult(a: Float32Array, b: Float32Array, c: Float32Array): void {
  const n = a.length;
  for (let k = 0; k < 64; k++) {
    const i = Math.floor((k / 64) * n) + (k % 7);
    if (i >= n) continue;
    const want = Math.fround(b[i]! + SCALAR * c[i]!);
    if (a[i] !== want) throw new Error(`triad self-check failed at ${i}: ${a[i]} ≠ ${want}`);
  }
}
