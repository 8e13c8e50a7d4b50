/**
 * The CPU Hessian figure, measured rather than extrapolated: H += XᵀX over 262,144 tokens
 * × 4096 channels (one seeded 2048-token batch added 128 times, as the webgpu bench does), with the
 * WebAssembly SIMD float32 chunks summed in float64 (`--f64` for the plain float64 path, ~6× slower).
 * `pnpm --filter @nq/gptq hessian-full [--f64]`. Prints one JSON line; progress on stderr.
 */
import os from 'node:os';
import { Rng } from '@nq/core';
import { defaultWasmGemm } from '@nq/model/cpu';
import { HessianAccumulator } from '../src/index.js';

const n = 4096;
const T = 2048;
const reps = 128;
const f64 = process.argv.includes('--f64');
const rng = new Rng(0);
const x = new Float32Array(T * n);
for (let i = 0; i < x.length; i++) x[i] = rng.normal();
const gemm = defaultWasmGemm()?.gemm;
const acc = !f64 && gemm ? new HessianAccumulator(n, { gemm }) : new HessianAccumulator(n);
const t0 = performance.now();
for (let r = 0; r < reps; r++) {
  acc.addRows(x, T);
  if (r % 16 === 15)
    process.stderr.write(`${r + 1}/${reps} batches, ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}
const seconds = (performance.now() - t0) / 1000;
console.log(
  JSON.stringify({
    path: !f64 && gemm ? 'f32-chunks (wasm SIMD) summed in f64' : 'f64',
    n,
    tokens: T * reps,
    seconds,
    gflops: (2 * T * reps * n * n) / seconds / 1e9,
    machine: `${os.cpus()[0]?.model?.trim()} ×${os.cpus().length}`,
    loadavg: os.loadavg(),
  }),
);
