import { type Matrix, NqInputError, Rng } from '@nq/core';
import { missingShared, sharedModelFiles } from '@nq/core/testing';
import { type LoadedModel, loadModel, randomModel, TINY_CONFIG } from '@nq/model';
import { fakeQuant, type QuantSpec } from '@nq/quant-fp';
import { beforeAll, describe, expect, it } from 'vitest';
import { awqSearch, collectInputStats } from '../src/index.js';
import { awqSearchWebGPU, channelStatsWebGPU, collectInputStatsWebGPU } from '../src/webgpu/index.js';

// WebGPU (llvmpipe here) against the CPU reference. Tolerances: statistics 1e-5 relative on a host
// matrix (float32 sums inside 64-token chunks), 1e-4 through the GPU forward pass (its activations
// differ from the CPU forward's by ~1e-6 relative); AWQ losses 2e-3 relative (the GPU forms X·Wᵀ and
// the quantized product in float32 in another order, and divides by s in float32: a few codes at
// rounding boundaries differ).
const modelPath = sharedModelFiles().bin;
const missing = missingShared(modelPath);

function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  for (let i = 0; i < a.length; i++)
    m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), 1e-3 * scale));
  return m;
}

describe('channelStatsWebGPU', () => {
  it('max|x|, mean|x|, mean x² per channel equal the float64 definitions (150 tokens: 3 chunks, one partial)', async () => {
    const rows = 150;
    const cols = 96;
    const rng = new Rng(3);
    const x: Matrix = { rows, cols, data: rng.normals(rows * cols) };
    for (let t = 0; t < rows; t++) x.data[t * cols + 5]! *= 30;
    const st = await channelStatsWebGPU(x);
    const maxAbs = new Float32Array(cols);
    const meanAbs = new Float64Array(cols);
    const meanSq = new Float64Array(cols);
    for (let t = 0; t < rows; t++)
      for (let j = 0; j < cols; j++) {
        const v = x.data[t * cols + j]!;
        maxAbs[j] = Math.max(maxAbs[j]!, Math.abs(v));
        meanAbs[j] += Math.abs(v) / rows;
        meanSq[j] += (v * v) / rows;
      }
    expect(Array.from(st.maxAbs)).toEqual(Array.from(maxAbs));
    expect(relDiff(st.meanAbs, meanAbs)).toBeLessThan(1e-5);
    expect(relDiff(st.meanSq, meanSq)).toBeLessThan(1e-5);
    expect(st.count).toBe(rows);
  });

  it('bad input is a typed error naming x', async () => {
    await expect(
      channelStatsWebGPU({ rows: 1, cols: 2, data: new Float32Array([1, Number.NaN]) }),
    ).rejects.toThrow(/x/);
  });
});

describe.skipIf(!!missing)(
  'collectInputStatsWebGPU (GPU forward + stats kernels) vs collectInputStats on nq-docs-5M',
  () => {
    let model: LoadedModel;
    beforeAll(async () => {
      model = await loadModel(modelPath);
    });
    // Kept rows are compared element by element (relative to max(|x|, 1e-3·max|X|)): small activations
    // carry the forward passes' absolute differences, hence 1e-3 (measured 2e-4).
    it('every layer and input: max|x|, mean|x|, mean x² within 1e-4, kept rows within 1e-3', async () => {
      const rng = new Rng(11);
      const seqs = [0, 1].map(() => Int32Array.from({ length: 48 }, () => rng.int(model.config.vocabSize)));
      const cpu = collectInputStats(model, seqs, { keepRows: 40 });
      const gpu = await collectInputStatsWebGPU(model, seqs, { keepRows: 40 });
      expect(gpu.length).toBe(cpu.length);
      for (let l = 0; l < cpu.length; l++)
        for (const input of ['attn', 'ffn', 'down'] as const) {
          const a = gpu[l]![input];
          const b = cpu[l]![input];
          expect(a.count).toBe(96);
          expect(relDiff(a.maxAbs, b.maxAbs)).toBeLessThan(1e-4);
          expect(relDiff(a.meanAbs, b.meanAbs)).toBeLessThan(1e-4);
          expect(relDiff(a.meanSq, b.meanSq)).toBeLessThan(1e-4);
          expect(a.rows!.rows).toBe(40);
          expect(relDiff(a.rows!.data, b.rows!.data)).toBeLessThan(1e-3);
        }
    }, 120_000);
  },
);

describe('awqSearchWebGPU vs awqSearch', () => {
  const W4G32: QuantSpec = { format: 'int', bits: 4, granularity: 'group', groupSize: 32, symmetric: false };
  const A4: QuantSpec = { format: 'int', bits: 4, granularity: 'token', symmetric: true };
  // A random tiny model's layer-0 q/k/v and an outlier-heavy input (AWQ has something to find).
  const m = randomModel(TINY_CONFIG, 5);
  const L = m.weights.layers[0]!;
  const cols = L.q.cols;
  const rng = new Rng(9);
  const x: Matrix = { rows: 96, cols, data: rng.normals(96 * cols) };
  for (const ch of [1, 7, 20]) for (let t = 0; t < 96; t++) x.data[t * cols + ch]! *= 15;
  const meanAbs = new Float64Array(cols);
  for (let t = 0; t < 96; t++)
    for (let j = 0; j < cols; j++) meanAbs[j] += Math.abs(x.data[t * cols + j]!) / 96;
  const grid = [0, 0.25, 0.5, 0.75, 1];

  for (const [name, act] of [
    ['weight-only (W4 g32)', null],
    ['W4 g32 + A4 per token', A4],
  ] as const) {
    it(`${name}: every α's loss within 2e-3 of the CPU, the same α chosen`, async () => {
      const cpu = awqSearch(x, [L.q, L.k, L.v], meanAbs, {
        quantizeWeight: (w) => fakeQuant(w, W4G32),
        ...(act ? { quantizeActivation: (a: Matrix) => fakeQuant(a, act) } : {}),
        grid,
      });
      const gpu = await awqSearchWebGPU(x, [L.q, L.k, L.v], meanAbs, {
        weight: W4G32,
        activation: act,
        grid,
      });
      expect(gpu.losses.map((l) => l.alpha)).toEqual(cpu.losses.map((l) => l.alpha));
      for (let i = 0; i < grid.length; i++)
        expect(Math.abs(gpu.losses[i]!.loss / cpu.losses[i]!.loss - 1)).toBeLessThan(2e-3);
      expect(gpu.alpha).toBe(cpu.alpha);
      expect(Array.from(gpu.scales)).toEqual(Array.from(cpu.scales));
    }, 60_000);
  }

  it('typed errors name the argument', async () => {
    await expect(awqSearchWebGPU(x, [], meanAbs, { weight: W4G32 })).rejects.toThrow(NqInputError);
    await expect(
      awqSearchWebGPU(x, [{ rows: 2, cols: cols + 1, data: new Float32Array(2 * cols + 2) }], meanAbs, {
        weight: W4G32,
      }),
    ).rejects.toThrow(/ws\[0\]/);
    await expect(awqSearchWebGPU(x, [L.q], meanAbs, {} as never)).rejects.toThrow(/opts\.weight/);
    await expect(awqSearchWebGPU(x, [L.q], new Float64Array(3), { weight: W4G32 })).rejects.toThrow(
      /actMeanAbs/,
    );
  });
});
