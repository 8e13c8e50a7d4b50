import { prepareRecipe, resolveRecipe } from '@nq/eval-ppl';
import { quantizeModelSequential } from '@nq/gptq';
import type { LoadedModel } from '@nq/model';
import { fakeQuant, type QuantSpec } from '@nq/quant-fp';
import { openDocsTable, scoreCandidate } from '@nq/turboquant';
import {
  awqSearch,
  collectInputStats,
  foldRescale,
  hessianDiagScales,
  INPUT_READERS,
  type LayerScales,
  RESCALE_INPUTS,
  rescaledModelBits,
  smoothQuantScales,
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
const stats = collectInputStats(model, calibration, { keepRows: 2048 });

type Rule = (l: number, input: (typeof RESCALE_INPUTS)[number]) => Float32Array;
const sq =
  (alpha: number): Rule =>
  (l, input) =>
    smoothQuantScales(
      stats[l]![input].maxAbs,
      INPUT_READERS[input].map((n) => model.weights.layers[l]![n]),
      alpha,
    );
const hii =
  (alpha: number): Rule =>
  (l, input) =>
    hessianDiagScales(stats[l]![input].meanSq, alpha);
const scalesBy = (rule: Rule): LayerScales[] =>
  model.weights.layers.map(
    (_, l) => Object.fromEntries(RESCALE_INPUTS.map((i) => [i, rule(l, i)])) as LayerScales,
  );

// AWQ for W4A16 g128 asym RTN (its usual setting): one α per layer and input, FP calibration inputs
const g128: QuantSpec = { format: 'int', bits: 4, granularity: 'group', groupSize: 128, symmetric: false };
const perRow4: QuantSpec = { format: 'int', bits: 4, granularity: 'token', symmetric: true };
const awqAlphas: string[] = [];
const awq: LayerScales[] = model.weights.layers.map((L, l) => {
  const out: LayerScales = {};
  for (const input of RESCALE_INPUTS) {
    const st = stats[l]![input];
    const r = awqSearch(
      st.rows!,
      INPUT_READERS[input].map((n) => L[n]),
      st.meanAbs,
      { quantizeWeight: (w) => fakeQuant(w, g128) },
    );
    out[input] = r.scales;
    awqAlphas.push(`L${l}.${input}=${r.alpha}`);
  }
  return out;
});
console.error(`AWQ α: ${awqAlphas.join(' ')}`);

interface Row {
  name: string;
  build: () =>
    | Promise<{ model: LoadedModel; hooks?: ReturnType<typeof prepareRecipe>['hooks'] }>
    | { model: LoadedModel; hooks?: ReturnType<typeof prepareRecipe>['hooks'] };
  weights: QuantSpec;
  rotation: boolean;
}
const recipe = (m: LoadedModel, name: string) => {
  const p = prepareRecipe(m, resolveRecipe(name, seed));
  return { model: p.model, hooks: p.hooks };
};
const gptq = async (m: LoadedModel) => ({
  model: (await quantizeModelSequential(m, { scheme: g128, calibration, dampPercent: 0.01 })).model,
});
const rows: Row[] = [];
rows.push({
  name: 'W4A16 g128 RTN',
  build: () => recipe(model, 'w4a16-rtn-g128'),
  weights: g128,
  rotation: false,
});
rows.push({
  name: 'AWQ + W4A16 g128 RTN',
  build: () => recipe(foldRescale(model, awq), 'w4a16-rtn-g128'),
  weights: g128,
  rotation: false,
});
rows.push({ name: 'W4A16 g128 GPTQ', build: () => gptq(model), weights: g128, rotation: false });
rows.push({
  name: 'AWQ + W4A16 g128 GPTQ',
  build: () => gptq(foldRescale(model, awq)),
  weights: g128,
  rotation: false,
});
rows.push({
  name: 'W4A4 per-token RTN (no rotation)',
  build: () => recipe(model, 'w4a4-rtn-token'),
  weights: perRow4,
  rotation: false,
});
rows.push({
  name: 'SmoothQuant α=0.5 + W4A4 RTN (no rotation)',
  build: () => recipe(foldRescale(model, scalesBy(sq(0.5))), 'w4a4-rtn-token'),
  weights: perRow4,
  rotation: false,
});
for (const alpha of [0, 0.1, 0.15, 0.2, 0.25, 0.5]) {
  rows.push({
    name: `H_ii^α α=${alpha} + FWHT + W4A4`,
    build: () => recipe(foldRescale(model, scalesBy(hii(alpha))), 'had-w4a4'),
    weights: perRow4,
    rotation: true,
  });
}
for (const alpha of [0, 0.1, 0.15, 0.2, 0.25, 0.5]) {
  rows.push({
    name: `SmoothQuant α=${alpha} + FWHT + W4A4`,
    build: () => recipe(foldRescale(model, scalesBy(sq(alpha))), 'had-w4a4'),
    weights: perRow4,
    rotation: true,
  });
}

const lines = [
  `nq-docs-5M, docs-valid: ${reference.windows.length} windows × 256 tokens spread over the text (${reference.ref.positions} scored positions); calibration ${calibN} × 256 tokens of docs-calib (seed ${seed}); rotation seed ${seed}.`,
  `AWQ exponents chosen (grid 0, 0.05, …, 1): ${awqAlphas.join(', ')}.`,
  '',
  '| recipe | PPL | KLD (mean ± SE) | top-1 | bits/param (linears) | bits/param (model) |',
  '|---|---|---|---|---|---|',
];
for (const r of rows) {
  const t = performance.now();
  const c = await r.build();
  const q = (performance.now() - t) / 1000;
  const s = scoreCandidate(reference, c.model, c.hooks);
  const b = rescaledModelBits(model, r.weights, { rotationSigns: r.rotation });
  console.error(
    `${r.name}: build ${q.toFixed(1)} s, eval ${s.seconds.toFixed(1)} s, PPL ${s.ppl.toFixed(3)} KLD ${s.kld_mean.toFixed(5)}`,
  );
  lines.push(
    `| ${r.name} | ${s.ppl.toFixed(3)} ± ${s.ppl_se.toFixed(3)} | ${s.kld_mean.toFixed(5)} ± ${s.kld_se.toFixed(5)} | ${(100 * s.top1).toFixed(2)}% | ${b.linearBitsPerParameter.toFixed(3)} | ${b.bitsPerParameter.toFixed(3)} |`,
  );
}
console.log(lines.join('\n'));
