import { NqBackendError, NqInputError } from '@nq/core';
import type { LoadedModel } from '../types.js';
import { gemmABt } from './gemm.js';
import {
  blockRowsFor,
  gemmModule,
  registerGemmEngine,
  runBlock,
  WasmGemm,
  WEIGHT_BLOCK_FLOATS,
  weightBlockRows,
} from './wasm/wasm-gemm.js';
import { type OpsParallel, runOpsTask, sharedOpsModule } from './wasm/wasm-ops.js';

/**
 * GEMM on several threads: the main thread and (threads − 1) worker_threads share the SIMD
 * kernel's memory; each computes a slice of the output columns. Synchronisation is a small
 * SharedArrayBuffer control block per worker (no messages, no promises), so `forward` stays
 * synchronous. Problems smaller than `minWork` multiply-adds run on the main thread alone: waking a
 * worker costs tens of µs.
 *
 * Failure is loud, never a hang: a worker that throws reports the error through its control block,
 * one that exits says so on its way out, and the main thread waits in slices, so a worker that makes
 * no progress (no finished call, no finished weight block) for `watchdogMs` gets an NqBackendError
 * with every worker's state in the message. After any failure the pool is broken: every later call
 * throws (a stuck worker may still write into the shared memory) and `close()` terminates it.
 *
 * Node only (worker_threads). Call `close()` when done; the workers are unref'd, so a forgotten pool
 * does not keep the process alive.
 */
export interface GemmPool {
  readonly threads: number;
  /** The GemmFn to pass as `forward(model, tokens, { gemm: pool.gemm })`. */
  readonly gemm: (x: Float32Array, T: number, K: number, w: Float32Array, N: number, y: Float32Array) => void;
  /**
   * Keep these weights (arrays or matrices, e.g. `residentWeights(model)`) in the kernel's memory
   * from their first use on instead of copying them on every call: faster, above all with many
   * threads. The caller promises not to modify them in place, or to call `clearResidentWeights()`
   * after doing so. Beyond `residentBudgetBytes` weights are copied per call as usual.
   */
  keepResident(weights: Iterable<Float32Array | { data: Float32Array }>): void;
  /** Forget every resident copy (call it after modifying a kept weight in place); re-copied on next use. */
  clearResidentWeights(): void;
  /** Every worker's state and counters, plus late wake-ups on either side (diagnostics for bug reports). */
  diagnostics(): string;
  close(): Promise<void>;
}

export interface GemmPoolOptions {
  /** Threads in all, the calling thread included (default 2; 1 = no workers). */
  threads?: number;
  /** Problems below this many multiply-adds (T·K·N) stay on the calling thread (default 2^18). */
  minWork?: number;
  /** Cap on the bytes of weights kept resident by `keepResident` (default 2 GiB, at most 3.75 GiB). */
  residentBudgetBytes?: number;
  /** A call fails with NqBackendError after this long without progress from a worker (default 60 000 ms). */
  watchdogMs?: number;
  /** createGemmPool fails with NqBackendError when the workers are not all up after this long (default 60 000 ms). */
  startupMs?: number;
  /**
   * Testing only: make worker `worker` misbehave on its `atCall`-th task ('throw' an error, 'hang'
   * forever, or 'exit' its thread), to prove that the pool fails loudly instead of hanging.
   */
  faultForTests?: { worker: number; atCall: number; kind: 'throw' | 'hang' | 'exit' };
}

// Control block per worker: 32 Int32 (128 bytes, whole cache lines so workers do not share lines).
const STRIDE = 32;
const SEQ = 0; // main → worker: task number, −1 = quit
const DONE = 1; // worker → main: last finished task number
const STATE = 2; // worker → main: see WorkerState
const BEAT = 3; // worker → main: +1 per finished weight block (progress for the watchdog)
const FAULT = 12; // testing: 1 throw, 2 hang, 3 exit; FAULT + 1: at which task
const LATE = 14; // worker: tasks found after a timed-out wait (a missed notify, or a race with the timeout)
const TASK = 15; // main → worker: what to run, GEMM_TASK or an OPS_TASK code (wasm-ops.ts)
const ARGS = 16; // up to 16 int32 arguments; GEMM: xp, wp, yp, T, K, n0, n1, ldy
const MAX_ARGS = 16;
const GEMM_TASK = 0;
const ERROR_BYTES = 512; // per worker: the UTF-8 message of a failure
const FAULT_CODES = { throw: 1, hang: 2, exit: 3 } as const;

const WorkerState = { Booting: 0, Ready: 1, Failed: 2, Exited: 3 } as const;
const STATE_NAMES = ['booting', 'ready', 'failed', 'exited'];

/** How long one Atomics.wait slice lasts while the main thread waits for a worker. */
const WAIT_SLICE_MS = 200;
/** How long an idle worker sleeps before it looks at its task number again. */
const WORKER_WAIT_MS = 100;
/**
 * Polls of a task or done flag before sleeping on it. A forward pass hands the workers dozens of
 * short tasks back to back; waking a sleeping thread costs tens of µs each time, which on 16 threads
 * of a small model cost as much as the work. ~2^13 polls ≈ 10–30 µs. Only when every thread has a
 * core of its own (spinning on a shared core would delay the thread that has work).
 */
const SPIN_POLLS = 1 << 13;

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, opsModule, memory, ctrl, errors, index, blockFloats, spinPolls } = workerData;
const c = new Int32Array(ctrl, index * ${STRIDE} * 4, ${STRIDE});
const errorBytes = new Uint8Array(errors, index * ${ERROR_BYTES}, ${ERROR_BYTES});
const runBlock = (${runBlock.toString()});
const blockRowsFor = (${blockRowsFor.toString()});
const runOpsTask = (${runOpsTask.toString()});
function fail(state, message) {
  const bytes = new TextEncoder().encode(String(message).slice(0, ${ERROR_BYTES / 2}));
  errorBytes.fill(0);
  errorBytes.set(bytes.subarray(0, ${ERROR_BYTES - 1}));
  Atomics.store(c, ${STATE}, state);
  Atomics.store(c, ${DONE}, Atomics.load(c, ${SEQ}));
  Atomics.notify(c, ${DONE});
}
process.on('exit', () => {
  if (Atomics.load(c, ${STATE}) !== ${WorkerState.Failed}) fail(${WorkerState.Exited}, 'worker thread exited');
});
try {
  const k = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const ops = opsModule ? new WebAssembly.Instance(opsModule, { env: { memory } }).exports : null;
  // Compile every kernel now (empty ranges), not on the first real call.
  for (const f of ['gemm_4x2', 'gemm_1x2', 'gemm_4x1', 'gemm_1x1']) k[f](0, 0, 0, 0, 0, 0, 0, 4, 0);
  Atomics.store(c, ${STATE}, ${WorkerState.Ready});
  Atomics.notify(c, ${STATE});
  let seen = 0;
  for (;;) {
    // A short spin first (the next task usually follows within µs), then a timed wait: a lost
    // wake-up (never seen, but cheap to survive) costs ${WORKER_WAIT_MS} ms, not a hang; counted.
    let now = Atomics.load(c, ${SEQ});
    for (let i = 0; now === seen && i < spinPolls; i++) now = Atomics.load(c, ${SEQ});
    if (now === seen) {
      const woke = Atomics.wait(c, ${SEQ}, seen, ${WORKER_WAIT_MS});
      now = Atomics.load(c, ${SEQ});
      if (now === seen) continue;
      if (woke === 'timed-out') Atomics.add(c, ${LATE}, 1);
    }
    seen = now;
    if (seen < 0) break;
    if (c[${FAULT}] !== 0 && c[${FAULT + 1}] === seen) {
      if (c[${FAULT}] === 1) throw new Error('fault injected for tests');
      if (c[${FAULT}] === 2) Atomics.wait(c, ${FAULT}, c[${FAULT}]);
      if (c[${FAULT}] === 3) process.exit(0);
    }
    const task = c[${TASK}];
    if (task === ${GEMM_TASK}) {
      const a = (i) => c[${ARGS} + i];
      const xp = a(0), wp = a(1), yp = a(2), T = a(3), K = a(4), n0 = a(5), n1 = a(6), ldy = a(7);
      const nb = blockRowsFor(K, blockFloats);
      for (let b0 = n0; b0 < n1; b0 += nb) {
        runBlock(k, xp, wp, yp, T, K, b0, Math.min(n1, b0 + nb), ldy);
        Atomics.add(c, ${BEAT}, 1);
      }
    } else runOpsTask(ops, task, c.subarray(${ARGS}, ${ARGS + MAX_ARGS}));
    Atomics.store(c, ${DONE}, seen);
    Atomics.notify(c, ${DONE});
  }
} catch (e) {
  fail(${WorkerState.Failed}, (e && e.stack) || String(e));
}
`;

class ThreadedGemm extends WasmGemm {
  readonly ctrl: Int32Array;
  readonly errors: Uint8Array;
  /** Why the pool is unusable (a worker failed or stalled), or null. */
  broken: string | null = null;
  /** Waits of the main thread that timed out although the worker had finished (missed notify or race). */
  lateWakeups = 0;

  constructor(
    module: WebAssembly.Module,
    readonly nWorkers: number,
    readonly minWork: number,
    readonly watchdogMs: number,
    residentBudgetBytes: number,
    /** Polls before sleeping on a flag (0 when threads outnumber cores). */
    readonly spinPolls: number,
  ) {
    super(module, residentBudgetBytes);
    registerGemmEngine(this.gemm, this);
    this.parallel = { threads: nWorkers + 1, run: (task, args, local) => this.dispatch(task, args, local) };
    this.ctrl = new Int32Array(new SharedArrayBuffer(nWorkers * STRIDE * 4));
    this.errors = new Uint8Array(new SharedArrayBuffer(nWorkers * ERROR_BYTES));
  }

  workerError(i: number): string {
    const bytes = this.errors.slice(i * ERROR_BYTES, (i + 1) * ERROR_BYTES);
    const end = bytes.indexOf(0);
    return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
  }

  /** Every worker's state, for error messages. */
  describe(): string {
    const c = this.ctrl;
    return Array.from({ length: this.nWorkers }, (_, i) => {
      const o = i * STRIDE;
      return `#${i + 1} ${STATE_NAMES[Atomics.load(c, o + STATE)]} task ${Atomics.load(c, o + SEQ)} done ${Atomics.load(c, o + DONE)} blocks ${Atomics.load(c, o + BEAT)} late ${Atomics.load(c, o + LATE)}`;
    }).join('; ');
  }

  /** Marks the pool broken and throws the error every later call will throw too. */
  fail(reason: string): never {
    this.broken ??= reason;
    throw new NqBackendError(
      'cpu',
      `GEMM worker pool: ${reason} [${this.describe()}]. The pool is now unusable: close() it and use a new pool or threads: 1`,
    );
  }

  /** Waits until worker i has finished task `seq`; throws on failure or after watchdogMs without progress. */
  private waitFor(i: number, seq: number): void {
    const c = this.ctrl;
    const o = i * STRIDE;
    // Spin briefly first: the worker's part is usually done within µs of this thread's.
    for (let p = 0; p < this.spinPolls && Atomics.load(c, o + DONE) !== seq; p++);
    let beat = Atomics.load(c, o + BEAT);
    let lastProgress = Date.now();
    for (;;) {
      const done = Atomics.load(c, o + DONE);
      const state = Atomics.load(c, o + STATE);
      if (state === WorkerState.Failed || state === WorkerState.Exited)
        this.fail(`worker #${i + 1} ${STATE_NAMES[state]}: ${this.workerError(i)}`);
      if (done === seq) return;
      if (Atomics.wait(c, o + DONE, done, WAIT_SLICE_MS) === 'timed-out') {
        if (Atomics.load(c, o + DONE) === seq) this.lateWakeups++;
        const now = Date.now();
        const b = Atomics.load(c, o + BEAT);
        if (b !== beat) {
          beat = b;
          lastProgress = now;
        } else if (now - lastProgress > this.watchdogMs) {
          this.fail(`worker #${i + 1} made no progress for ${now - lastProgress} ms (watchdog)`);
        }
      }
    }
  }

  override gemm = (
    x: Float32Array,
    T: number,
    K: number,
    w: Float32Array,
    N: number,
    y: Float32Array,
  ): void => {
    if (this.broken) this.fail(this.broken);
    if (this.useJs(T, K, w)) {
      gemmABt(x, T, K, w, N, y);
      return;
    }
    const [xp, wp, yp, staged] = this.stage(x, T, K, w, N, y);
    const parts = T * N * K < this.minWork ? 1 : this.nWorkers + 1;
    // Column slices aligned to 4 so every slice but the last uses whole 4×2 tiles; when N is small
    // (fewer columns than threads·4) the later slices are empty and those workers are not woken.
    const step = Math.ceil(N / parts / 4) * 4;
    const slices: number[][] = [];
    for (let p = 0; p < parts; p++) {
      const n0 = Math.min(N, p * step);
      const n1 = Math.min(N, (p + 1) * step);
      if (n0 >= n1) break;
      slices.push([xp, wp, yp, T, K, n0, n1, N]);
    }
    this.dispatch(GEMM_TASK, slices, (a) => {
      for (let b0 = a[5]!, n1 = a[6]!, nb = weightBlockRows(K); b0 < n1; b0 += nb)
        runBlock(this.kernel, xp, wp, yp, T, K, b0, Math.min(n1, b0 + nb), N);
    });
    staged.copyOut();
  };

  /**
   * Runs task `task` with args[p] on worker p − 1 for p ≥ 1 and `local(args[0])` on this thread, then
   * waits for every worker (also when the local part throws: memory is reused right after).
   */
  private dispatch(task: number, args: number[][], local: (a: number[]) => void): void {
    if (this.broken) this.fail(this.broken);
    if (args.length > this.nWorkers + 1)
      throw new Error(`dispatch: ${args.length} parts for ${this.nWorkers + 1} threads`);
    const c = this.ctrl;
    let started = 0;
    for (let p = 1; p < args.length; p++) {
      const o = (p - 1) * STRIDE;
      const a = args[p]!;
      if (a.length > MAX_ARGS) throw new Error(`dispatch: ${a.length} arguments, at most ${MAX_ARGS}`);
      c[o + TASK] = task;
      for (let i = 0; i < a.length; i++) c[o + ARGS + i] = a[i]!;
      // The seq store is sequentially consistent: the worker that sees it sees the arguments.
      // Task numbers wrap within [0, 2^31): −1 stays the only "quit".
      Atomics.store(c, o + SEQ, (c[o + SEQ]! + 1) & 0x7fffffff);
      Atomics.notify(c, o + SEQ);
      started = p;
    }
    try {
      local(args[0]!);
    } finally {
      for (let p = 1; p <= started; p++) this.waitFor(p - 1, c[(p - 1) * STRIDE + SEQ]!);
    }
  }

  /** The element-wise kernels' view of the workers (wasm-ops.ts); set in the constructor. */
  override readonly parallel: OpsParallel;
}

/** A GEMM engine on `threads` threads (1 = main thread only, SIMD if available). */
export async function createGemmPool(options: GemmPoolOptions = {}): Promise<GemmPool> {
  const threads = options.threads ?? 2;
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw new NqInputError(
      'threads',
      `must be an integer in [1, 256], got ${threads}`,
      'Pass the number of CPU threads to use (os.availableParallelism()).',
    );
  }
  const watchdogMs = options.watchdogMs ?? 60_000;
  const startupMs = options.startupMs ?? 60_000;
  for (const [name, v] of [
    ['watchdogMs', watchdogMs],
    ['startupMs', startupMs],
  ] as const) {
    if (!(v > 0) || !Number.isFinite(v))
      throw new NqInputError(
        name,
        `must be a positive number of milliseconds, got ${v}`,
        'Omit it for the default.',
      );
  }
  const budget = options.residentBudgetBytes ?? 2 ** 31;
  if (!(budget >= 0 && budget <= 2 ** 32 - 2 ** 28))
    throw new NqInputError(
      'residentBudgetBytes',
      `must be in [0, 3.75 GiB] (the kernel's 32-bit memory also holds the per-call operands), got ${budget}`,
      'Omit it for 2 GiB.',
    );
  const module = gemmModule();
  if (!module) {
    if (threads > 1)
      throw new NqBackendError(
        'cpu',
        'WebAssembly SIMD with shared memory is not available here, so GEMM cannot use worker threads',
      );
    return {
      threads: 1,
      gemm: gemmABt,
      keepResident: () => {},
      clearResidentWeights: () => {},
      diagnostics: () => 'JS kernel, no workers',
      close: async () => {},
    };
  }
  if (threads === 1) {
    const g = new WasmGemm(module, budget);
    return {
      threads: 1,
      gemm: g.gemm,
      keepResident: (ws) => g.keepResident(arraysOf(ws)),
      clearResidentWeights: () => g.clearResidentWeights(),
      diagnostics: () => 'SIMD kernel on the calling thread, no workers',
      close: async () => {},
    };
  }
  let Worker: typeof import('node:worker_threads').Worker;
  try {
    ({ Worker } = await import('node:worker_threads'));
  } catch (e) {
    throw new NqBackendError('cpu', 'worker_threads is not available here (Node only); use threads: 1', {
      cause: e,
    });
  }
  const cores = (await import('node:os')).availableParallelism?.() ?? 1;
  const spinPolls = threads <= cores ? SPIN_POLLS : 0;
  const engine = new ThreadedGemm(
    module,
    threads - 1,
    options.minWork ?? 1 << 18,
    watchdogMs,
    budget,
    spinPolls,
  );
  const fault = options.faultForTests;
  if (fault) {
    const o = fault.worker * STRIDE;
    engine.ctrl[o + FAULT] = FAULT_CODES[fault.kind];
    engine.ctrl[o + FAULT + 1] = fault.atCall;
  }
  const workers = Array.from({ length: threads - 1 }, (_, index) => {
    const wk = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        module,
        opsModule: sharedOpsModule(),
        memory: engine.memory,
        ctrl: engine.ctrl.buffer,
        errors: engine.errors.buffer,
        index,
        blockFloats: WEIGHT_BLOCK_FLOATS,
        spinPolls,
      },
    });
    // An 'error' event without a listener would crash the process later, at a random point; the
    // worker reports its own errors through the control block, so here it only marks the pool.
    wk.on('error', (e) => {
      engine.broken ??= `worker #${index + 1} failed: ${(e as Error).message}`;
    });
    wk.unref();
    return wk;
  });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    // Later calls throw at once instead of waiting for workers that are gone.
    engine.broken ??= 'the pool was closed';
    const c = engine.ctrl;
    for (let i = 0; i < workers.length; i++) {
      Atomics.store(c, i * STRIDE + SEQ, -1);
      Atomics.notify(c, i * STRIDE + SEQ);
      // Release a worker parked by the 'hang' test fault.
      Atomics.store(c, i * STRIDE + FAULT, 0);
      Atomics.notify(c, i * STRIDE + FAULT);
    }
    await Promise.all(workers.map((wk) => wk.terminate()));
  };
  // Wait (asynchronously: worker start-up may need this thread's event loop) until every worker
  // has compiled its kernels, so no call ever blocks on a worker that is still booting.
  const t0 = Date.now();
  for (;;) {
    const states = Array.from({ length: workers.length }, (_, i) =>
      Atomics.load(engine.ctrl, i * STRIDE + STATE),
    );
    const bad = states.findIndex((s) => s === WorkerState.Failed || s === WorkerState.Exited);
    if (bad >= 0 || engine.broken) {
      const why =
        bad >= 0
          ? `worker #${bad + 1} ${STATE_NAMES[states[bad]!]}: ${engine.workerError(bad)}`
          : engine.broken;
      await close();
      throw new NqBackendError('cpu', `GEMM worker pool failed to start: ${why}`);
    }
    if (states.every((s) => s === WorkerState.Ready)) break;
    if (Date.now() - t0 > startupMs) {
      const desc = engine.describe();
      await close();
      throw new NqBackendError(
        'cpu',
        `GEMM worker pool: workers not ready after ${startupMs} ms [${desc}]; use fewer threads or threads: 1`,
      );
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  return {
    threads,
    gemm: engine.gemm,
    keepResident: (ws) => engine.keepResident(arraysOf(ws)),
    clearResidentWeights: () => engine.clearResidentWeights(),
    diagnostics: () =>
      `${engine.broken ? `broken: ${engine.broken}; ` : ''}main late ${engine.lateWakeups}; ${engine.describe()}`,
    close,
  };
}

function* arraysOf(ws: Iterable<Float32Array | { data: Float32Array }>): Iterable<Float32Array> {
  for (const w of ws) yield w instanceof Float32Array ? w : w.data;
}

/** Every GEMM weight of a model (block linears and classifier), for `pool.keepResident(...)`. */
export function residentWeights(model: LoadedModel): Float32Array[] {
  const w = model.weights;
  const out = [w.output.data];
  for (const L of w.layers)
    out.push(L.q.data, L.k.data, L.v.data, L.o.data, L.gate.data, L.up.data, L.down.data);
  return out;
}
