import { cloneModel, LINEAR_NAMES, type LoadedModel } from '@nq/model';
import { fakeQuant, type QuantSpec } from '@nq/quant-fp';
import {
  modelBits,
  openDocsTable,
  quantizeModelTurboQuant,
  scoreCandidate,
  type TurboQuantSpec,
  turboquantModelBits,
} from '../src/index.js';

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const windows = Number(opt('windows') ?? 64);
const calibN = Number(opt('calib') ?? 32);
const seed = Number(opt('seed') ?? 0);
const { model, reference, calibration } = await openDocsTable({ windows, calib: calibN, seed });

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
  const t = performance.now();
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
