/**
 * Benchmark entry for a GPU machine (bundled with esbuild into .device/, see README "Measuring on
 * the H100"). Prints JSON lines: the CPU suite against this machine's triad, then the WebGPU suite
 * against the device copy, then a sweep of FWHT kernel shapes for the tuning notes.
 */
import os from 'node:os';
import { matrix, Rng } from '@nq/core';
import { cpuMachineName, measure } from '@nq/core/bench';
import { destroyGpuMatrix, emptyGpuMatrix, getWebGPUDevice } from '@nq/core/webgpu';
import suite from '../../../benchmarks/src/suites/hadamard.js';
import { measureTriad } from '../../../benchmarks/src/triad.js';
import { blockHadamard, randomHadamard, rotate } from '../src/index.js';
import { encodeRotation, prepareRotationWebGPU, rotateWebGPU, subgroupsUsable } from '../src/webgpu/index.js';

const what = (process.env.NQ_HADAMARD_DEVICE ?? 'check,cpu,webgpu,sweep').split(',');
const log = (m: string) => process.stderr.write(`${m}\n`);
const print = (r: unknown) => process.stdout.write(`${JSON.stringify(r)}\n`);

async function main() {
  const baselines = new Map<string, number>();
  const machine = cpuMachineName();
  if (what.includes('cpu')) {
    const t = await measureTriad({
      n: 32 * 1024 * 1024,
      threads: Math.min(8, os.availableParallelism()),
      passes: 6,
      log,
    });
    baselines.set('triad-1t', t.gbps1t);
    baselines.set('triad-all', t.gbpsAll);
    for (const r of t.records) print(r);
    for (const r of await suite.run({ backend: 'cpu', quick: false, baselines, machine, log })) print(r);
  }
  if (what.includes('check')) {
    // Conformance on this adapter (subgroup path included): max |webgpu − cpu| per case.
    const { device, adapter, adapterName } = await getWebGPUDevice();
    log(`check on ${adapterName}: subgroups usable = ${subgroupsUsable(device, adapter)}`);
    for (const subgroups of [false, true]) {
      if (subgroups && !subgroupsUsable(device, adapter)) continue;
      for (const spec of [
        randomHadamard(128, 1),
        randomHadamard(1024, 2),
        randomHadamard(4096, 3),
        randomHadamard(8192, 4),
        randomHadamard(16384, 5),
        randomHadamard(768, 6),
        randomHadamard(28 * 1024, 7),
        blockHadamard(256, 64, 8),
      ]) {
        const rows = Math.max(2, Math.floor((1 << 20) / spec.dim));
        const x = matrix(rows, spec.dim, new Rng(spec.dim).normals(rows * spec.dim));
        for (const inverse of [false, true]) {
          const rot = await prepareRotationWebGPU(spec, { subgroups });
          const got = await rotateWebGPU(x, rot, { inverse });
          rot.destroy();
          const want = rotate(x, spec, { inverse });
          let d = 0;
          for (let i = 0; i < want.data.length; i++) d = Math.max(d, Math.abs(got.data[i]! - want.data[i]!));
          print({ check: 'webgpu-vs-cpu', n: spec.dim, inverse, subgroups, rows, maxAbs: d, ok: d < 2e-5 });
          log(
            `check n=${spec.dim} inverse=${inverse} subgroups=${subgroups}: maxAbs ${d.toExponential(2)} ${d < 2e-5 ? 'OK' : 'FAIL'}`,
          );
        }
      }
    }
  }
  if (what.includes('webgpu'))
    for (const r of await suite.run({ backend: 'webgpu', quick: false, baselines, machine, log })) print(r);
  if (what.includes('sweep')) {
    const { device, adapterName } = await getWebGPUDevice();
    const bytes = 256 << 20;
    const configs: [number, number, number, boolean, boolean][] = [
      // n, E, threads per workgroup, subgroups, swizzle
      [1024, 32, 128, true, false],
      [1024, 8, 128, true, false],
      [1024, 8, 128, true, true],
      [1024, 4, 256, false, false],
      [4096, 32, 128, true, false],
      [4096, 32, 256, true, false],
      [4096, 16, 256, true, false],
      [4096, 8, 512, true, false],
      [4096, 8, 512, false, false],
      [4096, 8, 512, false, true],
      [4096, 32, 128, true, true],
      [8192, 32, 256, true, false],
    ];
    const buffers = new Map<number, ReturnType<typeof emptyGpuMatrix>>();
    for (const [n, E, threads, subgroups, swizzle] of configs) {
      if (subgroups && !device.features.has('subgroups')) continue;
      let a = buffers.get(n);
      if (!a) {
        a = emptyGpuMatrix(device, bytes / (4 * n), n);
        device.queue.writeBuffer(a.buffer, 0, new Rng(1).normals(1 << 20) as Float32Array<ArrayBuffer>);
        buffers.set(n, a);
      }
      const g = a;
      const rot = await prepareRotationWebGPU(randomHadamard(n, 1), {
        elementsPerThread: E,
        threadsPerWorkgroup: threads,
        subgroups,
        swizzle,
      });
      const reps = 32;
      const rec = await measure(
        'hadamard-sweep',
        {
          op: `E=${E} wg=${threads} sg=${subgroups} swizzle=${swizzle}`,
          backend: 'webgpu',
          n,
          bytes: 2 * bytes * reps,
          fn: async () => {
            const enc = device.createCommandEncoder();
            for (let r = 0; r < reps; r++) encodeRotation(rot, g, g, {}, enc);
            device.queue.submit([enc.finish()]);
            await device.queue.onSubmittedWorkDone();
          },
          time: 300,
          iterations: 5,
        },
        adapterName,
      );
      print(rec);
      log(
        `sweep n=${n} E=${E} wg=${threads} sg=${subgroups} swizzle=${swizzle}: ${rec.gbps?.toFixed(0)} GB/s`,
      );
      rot.destroy();
    }
    for (const a of buffers.values()) destroyGpuMatrix(a);
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    log(`device bench failed: ${(e as Error).stack ?? e}`);
    process.exit(1);
  },
);
