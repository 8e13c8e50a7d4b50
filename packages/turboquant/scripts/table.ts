/**
 * The model-level table of the README: nq-docs-5M, every block linear coded with TurboQuant
 * (RTN-style and inside GPTQ, act-order off/on) — PPL, KLD, top-1 against the FP model on docs-valid,
 * and honest bits per parameter.
 *
 *   pnpm --filter @nq/turboquant table [--windows 64] [--calib 32] [--seed 0]
 *
 * Evaluation: --windows non-overlapping 256-token windows spread evenly over docs-valid (of 899:
 * a subset sized for 2 shared CPU cores). Calibration (GPTQ): --calib sequences of 256 tokens from
 * docs-calib at positions from Rng(seed). The markdown table goes to stdout, progress to stderr.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sampleCalibration } from '@nq/gptq';
import { cloneModel, LINEAR_NAMES, type LoadedModel, loadModel, Tokenizer } from '@nq/model';
import { fakeQuant, type QuantSpec } from '@nq/quant-fp';
import {
  buildReference,
  modelBits,
  quantizeModelTurboQuant,
  scoreCandidate,
  type TurboQuantSpec,
  turboquantModelBits,
} from '../src/index.js';

const here = path.dirname(new URL(import.meta.url).pathname);
const shared = path.resolve(here, '../../../../shared');
const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const windows = Number(opt('windows') ?? 64);
const calibN = Number(opt('calib') ?? 32);
const seed = Number(opt('seed') ?? 0);
const modelPath = path.join(shared, 'models/nq-docs-5M/nq-docs-5M.bin');
const tokPath = path.join(shared, 'models/nq-docs-5M/tok4096.model');
const validPath = path.join(shared, 'data/docs-valid.txt');
const calibPath = path.join(shared, 'data/docs-calib.txt');
for (const f of [modelPath, tokPath, validPath, calibPath]) {
  if (!fs.existsSync(f)) {
    console.error(`missing ${f}: the shared model and data are needed for the table`);
    process.exit(2);
  }
}

const model = await loadModel(modelPath);
const tok = await Tokenizer.fromFile(tokPath);
const tokens = tok.encode(fs.readFileSync(validPath, 'utf8'));
let t = performance.now();
const reference = buildReference(model, tokens, { ctx: 256, windows });
console.error(
  `reference: ${reference.windows.length} windows in ${((performance.now() - t) / 1000).toFixed(1)} s`,
);
const calibration = await sampleCalibration({
  text: calibPath,
  tokenizer: tok,
  sequences: calibN,
  ctx: 256,
  seed,
});

// A baseline for context: INT4 asymmetric per group of 128 (scale float32 + 4-bit integer zero).
const int4g128: QuantSpec = {
  format: 'int',
  bits: 4,
  granularity: 'group',
  groupSize: 128,
  symmetric: false,
};
function rtnInt(m: LoadedModel, spec: QuantSpec): LoadedModel {
  const c = cloneModel(m);
  for (const L of c.weights.layers) for (const n of LINEAR_NAMES) L[n] = fakeQuant(L[n], spec);
  return c;
}

interface Row {
  name: string;
  build: () => LoadedModel;
  bits: number;
  linearBits: number;
}
const tq = (s: TurboQuantSpec): TurboQuantSpec => ({ groupSize: 128, seed, ...s });
const rows: Row[] = [];
const fpBits = modelBits(model, (r, c) => r * c * 32);
rows.push({ name: 'FP32', build: () => model, bits: fpBits.bitsPerParameter, linearBits: 32 });
const ib = modelBits(model, (r, c) => r * c * 4 + r * (c / 128) * (32 + 4));
rows.push({
  name: 'INT4 asym g128 RTN (baseline)',
  build: () => rtnInt(model, int4g128),
  bits: ib.bitsPerParameter,
  linearBits: ib.linearBitsPerParameter,
});
for (const bits of [4, 3]) {
  const variants: [string, TurboQuantSpec][] = [
    ['norm', tq({ bits, correction: 'norm' })],
    ['none', tq({ bits, correction: 'none' })],
    ['mse', tq({ bits, correction: 'mse' })],
    ['fitted codebook, norm', tq({ bits, codebook: 'fitted', correction: 'norm' })],
  ];
  for (const [label, spec] of variants) {
    const b = turboquantModelBits(model, spec);
    rows.push({
      name: `TurboQuant W${bits} g128 RTN (${label})`,
      build: () => quantizeModelTurboQuant(model, { spec, method: 'rtn' }),
      bits: b.bitsPerParameter,
      linearBits: b.linearBitsPerParameter,
    });
  }
  for (const actOrder of [false, true]) {
    const spec = tq({ bits });
    const b = turboquantModelBits(model, spec);
    rows.push({
      name: `GPTQ + TurboQuant W${bits} g128, act-order ${actOrder ? 'on' : 'off'}`,
      build: () => quantizeModelTurboQuant(model, { spec, method: 'gptq', calibration, actOrder }),
      bits: b.bitsPerParameter,
      linearBits: b.linearBitsPerParameter,
    });
  }
}

const lines = [
  `nq-docs-5M, docs-valid: ${reference.windows.length} windows × 256 tokens spread over the text (${reference.ref.positions} scored positions); GPTQ calibration ${calibN} × 256 tokens of docs-calib (seed ${seed}), damping 1%, sign seed ${seed}.`,
  '',
  '| recipe | PPL | KLD (mean ± SE) | top-1 | bits/param (linears) | bits/param (model) |',
  '|---|---|---|---|---|---|',
];
for (const r of rows) {
  t = performance.now();
  const m = r.build();
  const q = (performance.now() - t) / 1000;
  const s = scoreCandidate(reference, m);
  console.error(
    `${r.name}: quantize ${q.toFixed(1)} s, eval ${s.seconds.toFixed(1)} s, PPL ${s.ppl.toFixed(3)} KLD ${s.kld_mean.toFixed(5)}`,
  );
  lines.push(
    `| ${r.name} | ${s.ppl.toFixed(3)} ± ${s.ppl_se.toFixed(3)} | ${s.kld_mean.toFixed(5)} ± ${s.kld_se.toFixed(5)} | ${(100 * s.top1).toFixed(2)}% | ${r.linearBits.toFixed(3)} | ${r.bits.toFixed(3)} |`,
  );
}
console.log(lines.join('\n'));
