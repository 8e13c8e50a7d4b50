/**
 * Benchmark entry for a GPU machine (bundled with esbuild into .device/, see README "Measuring on
 * the H100"). Prints JSON lines: the CPU suite against this machine's triad, then the WebGPU suite
 * against the device copy, then a sweep of FWHT kernel shapes for the tuning notes.
 */
import os from 'node:os';
import { Rng } from '@nq/core';
import { cpuMachineName, measure } from '@nq/core/bench';
import { destroyGpuMatrix, emptyGpuMatrix, getWebGPUDevice } from '@nq/core/webgpu';
import suite from '../../../benchmarks/src/suites/hadamard.js';
import { measureTriad } from '../../../benchmarks/src/triad.js';
import { randomHadamard } from '../src/index.js';
import { encodeRotation, prepareRotationWebGPU } from '../src/webgpu/index.js';

const what = (process.env.NQ_HADAMARD_DEVICE ?? 'cpu,webgpu,sweep').split(',');
const log = (m: string) => process.stderr.write(`${m}\n`);
const print = (r: unknown) => process.stdout.write(`${JSON.stringify(r)}\n`);

async function main() {
  const baselines = new Map<string, number>();
  const machine = cpuMachineName();
  if (what.includes('cpu')) {
    const t = await measureTriad({ n: 32 * 1024 * 1024, threads: Math.min(8, os.availableParallelism()), passes: 6, log });
    baselines.set('triad-1t', t.gbps1t);
    baselines.set('triad-all', t.gbpsAll);
    for (const r of t.records) print(r);
    for (const r of await suite.run({ backend: 'cpu', quick: false, baselines, machine, log })) print(r);
  }
  if (what.includes('webgpu')) for (const r of await suite.run({ backend: 'webgpu', quick: false, baselines, machine, log })) print(r);
  if (what.includes('sweep')) {
    const { device, adapterName } = await getWebGPUDevice();
    const bytes = 256 << 20;
    for (const n of [128, 1024, 4096]) {
      const rows = bytes / (4 * n);
      const a = emptyGpuMatrix(device, rows, n);
      device.queue.writeBuffer(a.buffer, 0, new Rng(1).normals(1 << 20));
      for (const E of [4, 8, 16, 32]) {
        if (E > n || n / E > 1024) continue;
        for (const threads of [64, 128, 256, 512]) {
          if (n / E > threads) continue;
          const rot = await prepareRotationWebGPU(randomHadamard(n, 1), { elementsPerThread: E, threadsPerWorkgroup: threads });
          const reps = 8;
          const rec = await measure(
            'hadamard-sweep',
            {
              op: `E=${E} wg=${threads}`,
              backend: 'webgpu',
              n,
              bytes: 2 * bytes * reps,
              fn: async () => {
                const enc = device.createCommandEncoder();
                for (let r = 0; r < reps; r++) encodeRotation(rot, a, a, {}, enc);
                device.queue.submit([enc.finish()]);
                await device.queue.onSubmittedWorkDone();
              },
              time: 300,
              iterations: 5,
            },
            adapterName,
          );
          print(rec);
          log(`sweep n=${n} E=${E} wg=${threads}: ${rec.gbps?.toFixed(0)} GB/s`);
          rot.destroy();
        }
      }
      destroyGpuMatrix(a);
    }
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    log(`device bench failed: ${(e as Error).stack ?? e}`);
    process.exit(1);
  },
);
