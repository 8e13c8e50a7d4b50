import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { NqBackendError } from '@nq/core';

/**
 * Optional worker threads for F64Workspace.gemmSub (off by default: `setF64Threads(n)` or
 * NQ_GPTQ_THREADS=n). The workspace's memory is then a shared WebAssembly.Memory; every worker
 * instantiates the same kernel module on it and runs the packed-A row chunks whose index ≡ its id
 * (mod threads), the calling thread taking id 0. The caller packs A and B (cheap next to the
 * product), then hands out one job through a SharedArrayBuffer and waits with Atomics: gemmSub stays
 * synchronous. Workers sleep in Atomics.wait between jobs and are unref'd (they never keep a
 * process alive). The worker code is a string (eval worker) so bundled builds need no extra file.
 */

// ctrl slots (Int32) and job parameters (Float64: byte offsets can pass 2³¹)
const SEQ = 0;
const PENDING = 1;
const READY = 2;
const OP = 3;
const ERR = 4;
const OP_ATTACH = 1;
const OP_GEBP = 2;

const WORKER_CODE = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const ctrl = new Int32Array(workerData.ctrl);
const par = new Float64Array(workerData.params);
const port = workerData.port;
const id = workerData.id;
let gebp = null;
let seq = Atomics.load(ctrl, ${SEQ});
Atomics.add(ctrl, ${READY}, 1);
Atomics.notify(ctrl, ${READY});
for (;;) {
  Atomics.wait(ctrl, ${SEQ}, seq);
  seq = Atomics.load(ctrl, ${SEQ});
  const op = Atomics.load(ctrl, ${OP});
  try {
  if (op === ${OP_ATTACH}) {
    let m;
    while (!(m = receiveMessageOnPort(port))) {}
    gebp = new WebAssembly.Instance(m.message.module, { env: { memory: m.message.memory } }).exports.gebp;
  } else if (op === ${OP_GEBP}) {
    const ap = par[0], bp = par[1], cp = par[2], ldcB = par[3], kp = par[4], nB = par[5];
    const lowerC = par[6], m4 = par[7], mc = par[8], T = par[9], aChunkB = par[10], mr = par[11];
    let ci = 0;
    for (let i0 = 0; i0 < m4; i0 += mc, ci++) {
      if (ci % T !== id) continue;
      const i1 = Math.min(m4, i0 + mc);
      const nC = lowerC ? Math.min(nB, (i1 + 3) & ~3) : nB;
      if (nC > 0) gebp(ap + ci * aChunkB, bp, cp + i0 * ldcB, ldcB, kp, (i1 - i0) / mr, nC >> 2);
    }
  }
  } catch (e) {
    Atomics.store(ctrl, ${ERR}, 1); // the caller throws: this worker's chunks were not computed
  }
  if (Atomics.sub(ctrl, ${PENDING}, 1) === 1) Atomics.notify(ctrl, ${PENDING});
}
`;

export class F64Pool {
  readonly threads: number;
  private readonly ctrl: Int32Array;
  readonly params: Float64Array;
  private readonly ports: MessagePort[] = [];
  private readonly workers: Worker[] = [];
  private attached: WebAssembly.Memory | null = null;

  constructor(threads: number) {
    this.threads = threads;
    this.ctrl = new Int32Array(new SharedArrayBuffer(16 * 4));
    this.params = new Float64Array(new SharedArrayBuffer(16 * 8));
    for (let id = 1; id < threads; id++) {
      const { port1, port2 } = new MessageChannel();
      const w = new Worker(WORKER_CODE, {
        eval: true,
        workerData: { ctrl: this.ctrl.buffer, params: this.params.buffer, port: port2, id },
        transferList: [port2],
      });
      w.unref();
      port1.unref();
      this.workers.push(w);
      this.ports.push(port1);
    }
    // wait (blocking) until every worker sleeps in its loop; give up after 20 s
    const deadline = performance.now() + 20_000;
    for (;;) {
      const r = Atomics.load(this.ctrl, READY);
      if (r >= threads - 1) break;
      if (performance.now() > deadline) {
        this.terminate();
        throw new NqBackendError('gptq f64 threads', `only ${r} of ${threads - 1} workers started`);
      }
      Atomics.wait(this.ctrl, READY, r, 1000);
    }
  }

  /** Runs `op` on every worker (after the caller filled params) and waits for all of them. */
  private broadcast(op: number, own?: () => void): void {
    Atomics.store(this.ctrl, OP, op);
    Atomics.store(this.ctrl, PENDING, this.threads - 1);
    Atomics.add(this.ctrl, SEQ, 1);
    Atomics.notify(this.ctrl, SEQ);
    own?.();
    for (;;) {
      const p = Atomics.load(this.ctrl, PENDING);
      if (p === 0) break;
      Atomics.wait(this.ctrl, PENDING, p);
    }
    if (Atomics.exchange(this.ctrl, ERR, 0) !== 0)
      throw new NqBackendError(
        'gptq f64 threads',
        'a worker failed its part of a float64 kernel call; run single-threaded (setF64Threads(1) or unset NQ_GPTQ_THREADS)',
      );
  }

  /** Makes the workers run on `memory` (re-instantiating the kernel) unless they already do. */
  attach(memory: WebAssembly.Memory, module: WebAssembly.Module): void {
    if (this.attached === memory) return;
    for (const port of this.ports) port.postMessage({ memory, module });
    this.broadcast(OP_ATTACH);
    this.attached = memory;
  }

  /** One packed gebp job over row chunks: the workers take chunks ≡ id (mod threads), `own` chunk 0's share. */
  gebp(own: () => void): void {
    this.broadcast(OP_GEBP, own);
  }

  terminate(): void {
    for (const w of this.workers) void w.terminate();
  }
}

let pool: F64Pool | null = null;
let wanted = Math.max(1, Math.floor(Number(globalThis.process?.env?.NQ_GPTQ_THREADS ?? 1)) || 1);

/**
 * Threads for the float64 kernels of GPTQ's cpu setup and lazy updates (1 = off, the default).
 * Takes effect for workspaces created afterwards.
 */
export function setF64Threads(n: number): void {
  const t = Math.max(1, Math.floor(n));
  if (t === wanted) return;
  wanted = t;
  pool?.terminate();
  pool = null;
}

export function f64Threads(): number {
  return wanted;
}

/** The pool for the current setting (created on first use), or null when single-threaded. */
export function f64Pool(): F64Pool | null {
  if (wanted <= 1) return null;
  if (!pool || pool.threads !== wanted) {
    try {
      pool = new F64Pool(wanted);
    } catch {
      wanted = 1; // no worker_threads / SharedArrayBuffer here: stay single-threaded
      pool = null;
    }
  }
  return pool;
}
