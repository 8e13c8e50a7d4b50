/**
 * AdaCodec training diagnosis and variants on real calibration inputs of nq-docs-5M (README section
 * "AdaCodec: why plain STE barely trains"):
 *
 *   pnpm --filter @nq/rotation-opt exec tsx --conditions=source scripts/ada-experiments.ts [--calib 4] [--iters 30] [--inputs 0.attn,2.ffn]
 *
 * 1. Directional slopes at the random-Hadamard init: finite differences of the real quantized loss L
 *    and of the expected-error surrogate S along the STE descent direction and along −∇S (Cayley
 *    curve Θ(τ) = Cay(τA)·Θ), next to the slope the STE gradient predicts; cosine of the two skew
 *    directions.
 * 2. Loss curves (real loss, initial → best) of the training variants, INT4 and NVFP4.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sampleCalibration } from '@nq/gptq';
import { loadModel, Tokenizer } from '@nq/model';
import { defaultWasmGemm, gemmABt } from '@nq/model/cpu';
import {
  type AdaCodecOptions,
  activationSpec,
  type BlockOrthogonal,
  blockRandomHadamard,
  blockTranspose,
  CpuCodecEngine,
  captureInputs,
  cayleySkew,
  cayleyStepInPlace,
  codecLoss,
  rowQuantizer,
  surrogateFor,
  trainAdaCodec,
  type W4A4Format,
} from '../src/index.js';

const here = path.dirname(new URL(import.meta.url).pathname);
const shared = path.resolve(here, '../../../../shared');
const args = process.argv.slice(2);
const opt = (name: string, d: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : d;
};
const calibN = Number(opt('calib', '4'));
const iters = Number(opt('iters', '30'));
const inputs = opt('inputs', '0.attn,2.ffn').split(',');
const formats = opt('formats', 'int4,nvfp4').split(',') as W4A4Format[];
const withSlopes = !args.includes('--no-slopes');
const only = opt('only', '');
const modelPath = path.join(shared, 'models/nq-docs-5M/nq-docs-5M.bin');
if (!fs.existsSync(modelPath)) {
  console.error(`missing ${modelPath}`);
  process.exit(2);
}
const model = await loadModel(modelPath);
const tok = await Tokenizer.fromFile(path.join(shared, 'models/nq-docs-5M/tok4096.model'));
const calib = await sampleCalibration({
  text: path.join(shared, 'data/docs-calib.txt'),
  tokenizer: tok,
  sequences: calibN,
  ctx: 256,
  seed: 0,
});
const gemm = defaultWasmGemm()?.gemm ?? gemmABt;
const cap = captureInputs(model, calib, ['attn', 'ffn'], gemm);
// Held-out tokens (other calibration sequences, seed 5): is the loss drop a fit to the calibration set?
const held = captureInputs(
  model,
  await sampleCalibration({
    text: path.join(shared, 'data/docs-calib.txt'),
    tokenizer: tok,
    sequences: 4,
    ctx: 256,
    seed: 5,
  }),
  ['attn', 'ffn'],
  gemm,
);
const n = model.config.dim;
const rows = cap.rows;
const block = 64;

function slopes(x: Float32Array, format: W4A4Format) {
  const q = rowQuantizer(activationSpec(format), 256);
  const sur = surrogateFor(format);
  const eng = new CpuCodecEngine(x, rows, n, block, q, null);
  const enc = blockRandomHadamard(n, block, 7);
  const dec0 = blockTranspose(enc);
  eng.encode(enc);
  const L0 = eng.decode(dec0);
  const ste = Float64Array.from(eng.steGradients(dec0, false).gradE);
  const sg = eng.surrogateGradient(sur);
  const S0 = sg.value;
  const sgrad = Float64Array.from(sg.gradE);
  const bb = block * block;
  const skew = (g: Float64Array) => {
    const a = new Float64Array(g.length);
    for (let k = 0; k < n / block; k++)
      cayleySkew(enc.blocks, k * bb, g, k * bb, block, a.subarray(k * bb, (k + 1) * bb));
    return a;
  };
  const aSte = skew(ste);
  const aSur = skew(sgrad);
  let dot = 0;
  let n1 = 0;
  let n2 = 0;
  for (let i = 0; i < aSte.length; i++) {
    dot += aSte[i]! * aSur[i]!;
    n1 += aSte[i]! ** 2;
    n2 += aSur[i]! ** 2;
  }
  const moved = (a: Float64Array, tau: number): BlockOrthogonal => {
    const e: BlockOrthogonal = { n, block, blocks: Float64Array.from(enc.blocks) };
    const an = Math.sqrt(a.reduce((s, v) => s + v * v, 0));
    for (let k = 0; k < n / block; k++)
      cayleyStepInPlace(e.blocks, k * bb, a.subarray(k * bb, (k + 1) * bb), block, tau / an);
    return e;
  };
  const lines: string[] = [];
  // d/dτ f(Cay(τÂ)Θ) at τ=0 for Euclidean gradient G = −⟨G, ÂΘ⟩ = −½⟨A, Â⟩ (A = GΘᵀ − ΘGᵀ, Â = A/‖A‖).
  const predicted = (a: Float64Array) => -0.5 * Math.sqrt(a.reduce((s, v) => s + v * v, 0));
  for (const [name, a] of [
    ['STE', aSte],
    ['-grad S', aSur],
  ] as const) {
    const parts: string[] = [];
    for (const tau of [1e-3, 1e-2, 3e-2, 1e-1]) {
      const e = moved(a, tau);
      eng.encode(e);
      const L = eng.decode(blockTranspose(e));
      const S = eng.surrogateGradient(sur).value;
      parts.push(
        `τ=${tau}: ΔL/τ ${((L - L0) / tau).toExponential(2)} ΔS/τ ${((S - S0) / tau).toExponential(2)}`,
      );
    }
    lines.push(
      `  along ${name} (unit-norm skew direction; first-order slope of its own objective ${predicted(a).toExponential(2)}): ${parts.join(' | ')}`,
    );
  }
  lines.unshift(
    `  L0 ${L0.toExponential(4)} S0 ${S0.toExponential(4)}; cos(A_STE, A_S) = ${(dot / Math.sqrt(n1 * n2)).toFixed(3)}`,
  );
  return lines.join('\n');
}

const VARIANTS: [string, AdaCodecOptions][] = [
  ['STE, STE decoder, lr 0.02 (session 1)', { gradient: 'ste', decoder: 'ste', momentum: 0, lr: 0.02 }],
  ['STE, STE decoder, lr 0.005', { gradient: 'ste', decoder: 'ste', momentum: 0, lr: 0.005 }],
  ['STE + momentum 0.9, lr 0.02', { gradient: 'ste', decoder: 'ste', momentum: 0.9, lr: 0.02 }],
  ['STE enc, Procrustes decoder, lr 0.02', { gradient: 'ste', decoder: 'procrustes', momentum: 0, lr: 0.02 }],
  ['STE enc, tied D = Eᵀ, lr 0.02', { gradient: 'ste', decoder: 'tied', momentum: 0, lr: 0.02 }],
  ['surrogate, tied D = Eᵀ, lr 0.05, m 0.9', { gradient: 'expected', decoder: 'tied', lr: 0.05 }],
  ['surrogate, tied D = Eᵀ, lr 0.1, m 0.9', { gradient: 'expected', decoder: 'tied', lr: 0.1 }],
  ['surrogate + Procrustes D, lr 0.05, m 0.9', { gradient: 'expected', decoder: 'procrustes', lr: 0.05 }],
  ['surrogate + Procrustes D, lr 0.1, m 0.9', { gradient: 'expected', decoder: 'procrustes', lr: 0.1 }],
  [
    'surrogate + Procrustes D, lr 0.05, m 0',
    { gradient: 'expected', decoder: 'procrustes', lr: 0.05, momentum: 0 },
  ],
];

for (const key of inputs) {
  const x = cap.data.get(key)!;
  for (const format of formats) {
    console.log(`\n## ${key} ${format} (${rows} tokens, n = ${n}, b = ${block}, ${iters} steps)`);
    if (withSlopes) console.log(slopes(x, format));
    const q = rowQuantizer(activationSpec(format), 256);
    for (const [name, o] of VARIANTS) {
      if (only && !only.split('|').some((o) => name.includes(o))) continue;
      for (const p of o.gradient === 'expected' ? [12] : [0]) {
        const r = trainAdaCodec(x, rows, n, q, {
          block,
          seed: 7,
          iterations: iters,
          surrogate: surrogateFor(format, p || 12),
          ...o,
        });
        const xh = held.data.get(key)!;
        const h0 = codecLoss(
          xh,
          held.rows,
          blockRandomHadamard(n, block, 7),
          blockTranspose(blockRandomHadamard(n, block, 7)),
          q,
        );
        const hb = codecLoss(xh, held.rows, r.enc, r.dec, q);
        const l0 = r.loss[0]!;
        const lb = r.loss[r.best]!;
        const curve = [1, 2, 5, 10, 20, iters]
          .filter((i) => i <= iters)
          .map((i) => `${i}:${(r.loss[i]! / l0).toFixed(3)}`);
        console.log(
          `  ${name}: ${l0.toExponential(4)} → ${lb.toExponential(4)} (${((1 - lb / l0) * 100).toFixed(1)} % lower, best it ${r.best}; held-out ${h0.toExponential(3)} → ${hb.toExponential(3)} (${((1 - hb / h0) * 100).toFixed(1)} %); L/L0 ${curve.join(' ')}; ${r.seconds.toFixed(1)} s)`,
        );
      }
    }
  }
}
