/**
 * Child-process driver for pool-stress.test.ts (run with `node --import tsx --conditions=source`):
 * a pool bug shows up as a hang, which must be killed from outside rather than freeze the test
 * worker. Prints one JSON line on success.
 *
 *   stress <threads> <calls> <seed>   thousands of small pool GEMMs with random shapes (many with fewer
 *                                     output columns than threads), some large ones that grow the
 *                                     shared memory, and pools closed and re-created in between; each
 *                                     result checked against the JS kernel.
 *   fault <throw|hang|exit>           a worker misbehaves on its 3rd task: the call must throw
 *                                     NqBackendError (watchdog 400 ms for 'hang'), and so must the next.
 */
import { NqBackendError, Rng } from '@nq/core';
import { createGemmPool, gemmABt } from '../../src/cpu/index.js';

const [mode, a1, a2, a3] = process.argv.slice(2);

function maxRel(y: Float32Array, ref: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num = Math.max(num, Math.abs(y[i]! - ref[i]!));
    den = Math.max(den, Math.abs(ref[i]!));
  }
  return num / (den || 1);
}

async function stress(threads: number, calls: number, seed: number): Promise<void> {
  const rng = new Rng(seed);
  const pick = (lo: number, hi: number) => lo + Math.floor(rng.uniform() * (hi - lo + 1));
  let pool = await createGemmPool({ threads, minWork: 0, watchdogMs: 30_000 });
  let worst = 0;
  let recreated = 0;
  let grown = 0;
  const t0 = Date.now();
  for (let i = 0; i < calls; i++) {
    if (i > 0 && i % 1000 === 0) {
      await pool.close();
      pool = await createGemmPool({ threads, minWork: 0, watchdogMs: 30_000 });
      recreated++;
    }
    let T = pick(4, 24);
    let K = 4 * pick(1, 24);
    // Half the calls have fewer output columns than threads·4, so some workers get no slice.
    let N = rng.uniform() < 0.5 ? pick(1, threads * 4) : pick(1, 300);
    if (i % 250 === 249) {
      // Larger each time: grows the shared memory between calls.
      T = 16;
      K = 512;
      N = 256 * (1 + grown++);
    }
    const x = rng.normals(T * K);
    const w = rng.normals(N * K);
    const y = new Float32Array(T * N).fill(Number.NaN);
    const ref = new Float32Array(T * N);
    pool.gemm(x, T, K, w, N, y);
    gemmABt(x, T, K, w, N, ref);
    const e = maxRel(y, ref);
    if (!(e <= 1e-5)) throw new Error(`call ${i}: T=${T} K=${K} N=${N} max rel error ${e}`);
    worst = Math.max(worst, e);
  }
  const diagnostics = pool.diagnostics();
  await pool.close();
  console.log(
    JSON.stringify({ ok: true, threads, calls, recreated, grown, worst, ms: Date.now() - t0, diagnostics }),
  );
}

async function fault(kind: 'throw' | 'hang' | 'exit'): Promise<void> {
  const pool = await createGemmPool({
    threads: 4,
    minWork: 0,
    watchdogMs: 400,
    faultForTests: { worker: 1, atCall: 3, kind },
  });
  const rng = new Rng(5);
  const T = 8;
  const K = 16;
  const N = 64;
  const x = rng.normals(T * K);
  const w = rng.normals(N * K);
  const y = new Float32Array(T * N);
  const errors: string[] = [];
  const t0 = Date.now();
  for (let i = 1; i <= 4; i++) {
    try {
      pool.gemm(x, T, K, w, N, y);
    } catch (e) {
      if (!(e instanceof NqBackendError)) throw e;
      errors.push(`call ${i}: ${e.message}`);
    }
  }
  await pool.close();
  console.log(JSON.stringify({ ok: true, kind, errors, ms: Date.now() - t0 }));
}

if (mode === 'stress') await stress(Number(a1), Number(a2), Number(a3));
else if (mode === 'fault') await fault(a1 as 'throw' | 'hang' | 'exit');
else throw new Error(`unknown mode ${mode}`);
