import fs from 'node:fs';
import { NqInputError, NqUnsupportedError } from '@nq/core';
import { missingShared, sharedModelFiles, sharedPath } from '@nq/core/testing';
import { blockHadamard, cascade, identity, randomHadamard } from '@nq/hadamard';
import { loadModel, Tokenizer } from '@nq/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuErrorEvaluator } from '../src/cpu/index.js';
import { GpuJsErrorEvaluator } from '../src/gpujs/index.js';
import { type CapturedLayer, captureLayerData, discover } from '../src/index.js';
import { outlierActivations } from './helpers.js';

// Conformance of the gpu.js evaluator (dense rotate-as-GEMM batches) with the CPU reference (FWHT),
// on activations and weights captured from nq-docs-5M. Tolerances: int8/int4 1e-4 relative per
// candidate, w4a4 1e-3 (the GPU rotates by a dense GEMM in float32 and divides by the scale in
// float32, so values within an ulp of a rounding boundary can land on the other side; such a flip
// moves the error by far less than this). webasm runs everywhere; webgpu runs on llvmpipe here.
const { bin: modelFile, tokenizer: tokFile } = sharedModelFiles();
const calibFile = sharedPath('data/docs-calib.txt');
const missing = missingShared(modelFile, calibFile);

let layers: CapturedLayer[] = [];
beforeAll(async () => {
  if (missing) return;
  const model = await loadModel(modelFile);
  const tok = await Tokenizer.fromFile(tokFile);
  const ids = tok.encode(fs.readFileSync(calibFile, 'utf8').slice(0, 20_000));
  layers = captureLayerData(model, ids, { ctx: 32, windows: 2, maxTokens: 24, seed: 7 });
}, 60_000);

const evaluators: GpuJsErrorEvaluator[] = [];
afterAll(() => {
  for (const e of evaluators) e.destroy();
});

const layer = (name: string) => layers.find((l) => l.name === name)!;

for (const mode of ['webasm', 'webgpu'] as const) {
  describe.skipIf(!!missing)(
    `GpuJsErrorEvaluator (${mode}) vs CpuErrorEvaluator on nq-docs-5M activations`,
    () => {
      for (const [name, target] of [
        ['L1.ffn', 'int8'],
        ['L2.down', 'int4'],
      ] as const) {
        it(`${target} on ${name}: every candidate within 1e-4 of the CPU`, async () => {
          const d = layer(name);
          const dim = d.x.cols;
          const specs = [
            identity(dim),
            randomHadamard(dim, 1),
            blockHadamard(dim, dim === 768 ? 12 : 16, 2),
            cascade(blockHadamard(dim, 8, 4), blockHadamard(dim, dim === 768 ? 384 : 128, 5)),
          ];
          const cpu = new CpuErrorEvaluator(d.x, null, target).errors(specs);
          // maxBatch 3: the batch of 4 runs as two launches (3 + 1), which the comparison also covers.
          const gj = await GpuJsErrorEvaluator.create(d.x, target, null, { mode, maxBatch: 3 });
          evaluators.push(gj);
          const g = await gj.errors(specs);
          for (let i = 0; i < specs.length; i++) expect(Math.abs(g[i]! / cpu[i]! - 1)).toBeLessThan(1e-4);
          expect(gj.evaluations).toBe(specs.length);
        }, 120_000);
      }

      it('w4a4 on L1.attn (W = q|k|v, 384 × 256): every candidate within 1e-3 of the CPU', async () => {
        const d = layer('L1.attn');
        const specs = [
          identity(256),
          randomHadamard(256, 3),
          cascade(blockHadamard(256, 4, 6), blockHadamard(256, 64, 7)),
        ];
        const cpu = new CpuErrorEvaluator(d.x, d.w, 'w4a4').errors(specs);
        const gj = await GpuJsErrorEvaluator.create(d.x, 'w4a4', d.w, { mode });
        evaluators.push(gj);
        const g = await gj.errors(specs);
        for (let i = 0; i < specs.length; i++) expect(Math.abs(g[i]! / cpu[i]! - 1)).toBeLessThan(1e-3);
      }, 120_000);
    },
  );
}

describe('GpuJsErrorEvaluator: search and bad input', () => {
  it("discover({ backend: 'gpujs' }) searches with gpu.js; its best error matches the CPU's on that rotation", async () => {
    const x = outlierActivations(24, 64, 9, 3, 25);
    const r = await discover({
      data: { name: 'synthetic', x },
      target: 'int4',
      seed: 5,
      population: 6,
      generations: 2,
      backend: 'gpujs',
      gpujsMode: 'webasm',
    });
    expect(r.history.length).toBe(3);
    const bestRow = r.comparison.at(-1)!; // computed on the CPU
    expect(Math.abs(r.bestError / bestRow.error - 1)).toBeLessThan(1e-4);
  }, 60_000);

  it('typed errors name the argument', async () => {
    const x = outlierActivations(4, 16, 1);
    await expect(GpuJsErrorEvaluator.create(x, 'w4a4', null, { mode: 'webasm' })).rejects.toThrow(
      NqInputError,
    );
    await expect(GpuJsErrorEvaluator.create(x, 'int9' as never, null, { mode: 'webasm' })).rejects.toThrow(
      /target/,
    );
    await expect(
      GpuJsErrorEvaluator.create(x, 'int8', null, { mode: 'webasm', maxBatch: 0 }),
    ).rejects.toThrow(/maxBatch/);
    // 4096² elements of a dense R exceed gpu.js's float32 indexing.
    await expect(
      GpuJsErrorEvaluator.create(outlierActivations(2, 4096, 1), 'int8', null, { mode: 'webasm' }),
    ).rejects.toThrow(NqUnsupportedError);
    const gj = await GpuJsErrorEvaluator.create(x, 'int8', null, { mode: 'webasm' });
    evaluators.push(gj);
    await expect(gj.errors([identity(32)])).rejects.toThrow(/specs\[0\]\.dim/);
  });
});
