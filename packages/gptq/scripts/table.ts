/**
 * The model-level table of the README: nq-docs-5M, RTN vs GPTQ (sequential, block by block) at
 * W4A16 / W3A16 (per-group 128 and per-channel) and W4A4 QuaRot-style — PPL, KLD, top-1 against the
 * full-precision model on docs-valid.
 *
 *   pnpm --filter @nq/gptq table [--windows 128] [--calib 128] [--seed 0] [--threads 2] [--out file.jsonl] [--rows a,b]
 *
 * Evaluation: --windows windows of 256 tokens spread evenly over docs-valid (of 899; a CPU-sized
 * subset). Calibration: --calib sequences of 256 tokens from docs-calib at positions drawn with
 * Rng(seed). Rows are appended to a JSON-lines file as they finish; rows already there are reused,
 * so a killed run resumes. The markdown table goes to stdout.
 */
import fs from 'node:fs';
import path from 'node:path';
import { buildReference, prepareRecipe, recipeFromName, scoreCandidate } from '@nq/eval-ppl';
import { type LoadedModel, loadModel, Tokenizer } from '@nq/model';
import { createGemmPool } from '@nq/model/cpu';
import type { QuantSpec } from '@nq/quant-fp';
import type { SchemeInput } from '../src/cpu/gptq.js';
import { quantizeModelSequential, sampleCalibration } from '../src/index.js';

const here = path.dirname(new URL(import.meta.url).pathname);
const shared = path.resolve(here, '../../../../shared');
const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const windows = Number(opt('windows') ?? 128);
const calibN = Number(opt('calib') ?? 128);
const seed = Number(opt('seed') ?? 0);
const threads = Number(opt('threads') ?? 2);
const out = path.resolve(
  opt('out') ?? path.join(here, `../results/table-w${windows}-c${calibN}-seed${seed}.jsonl`),
);
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

interface Row {
  name: string;
  /** weights spec, eval recipe (activations/rotation) and method */
  weights: SchemeInput;
  base: string;
  method: 'rtn' | 'gptq';
}
const asym = (bits: number, g: number | null): QuantSpec =>
  g
    ? { format: 'int', bits, granularity: 'group', groupSize: g, symmetric: false }
    : { format: 'int', bits, granularity: 'token', symmetric: false };
const quarotW: QuantSpec = {
  format: 'int',
  bits: 4,
  granularity: 'token',
  symmetric: true,
  clipSearch: { grid: 100, maxShrink: 0.8, norm: 2.4 },
};
const ROWS: Row[] = [];
for (const bits of [4, 3]) {
  for (const g of [128, null]) {
    for (const method of ['rtn', 'gptq'] as const)
      ROWS.push({
        name: `W${bits}A16 ${g ? 'g128' : 'per-channel'} asym ${method.toUpperCase()}`,
        weights: asym(bits, g),
        base: 'fp',
        method,
      });
  }
}
// GPTQ + a different grid: a Lloyd-Max codebook per output row (2^bits centroids fitted to the row)
for (const bits of [4, 3]) {
  for (const method of ['rtn', 'gptq'] as const)
    ROWS.push({
      name: `W${bits}A16 Lloyd-Max ${2 ** bits} levels per-row ${method.toUpperCase()}`,
      weights: { lloydMax: { levels: 2 ** bits, perRow: true } },
      base: 'fp',
      method,
    });
}
for (const method of ['rtn', 'gptq'] as const)
  ROWS.push({
    name: `W4A4 QuaRot (R1+R4 Hadamard, A4 token clip 0.9, W4 per-channel sym clip-search) ${method.toUpperCase()}`,
    weights: quarotW,
    base: 'quarot-w4a4',
    method,
  });
const only = opt('rows')?.split(',');

const done = new Map<string, Record<string, unknown>>();
if (fs.existsSync(out))
  for (const line of fs.readFileSync(out, 'utf8').split('\n'))
    if (line.trim()) done.set(JSON.parse(line).name, JSON.parse(line));
fs.mkdirSync(path.dirname(out), { recursive: true });

const pool = await createGemmPool({ threads });
const model: LoadedModel = await loadModel(modelPath);
const tok = await Tokenizer.fromFile(tokPath);
const tokens = tok.encode(fs.readFileSync(validPath, 'utf8'));
const t0 = performance.now();
const reference = buildReference(model, tokens, { ctx: 256, windows, select: 'spread', gemm: pool.gemm });
console.error(
  `reference: ${reference.windows.length} windows, ${reference.ref.positions} scored tokens, ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
const calibration = await sampleCalibration({
  text: calibPath,
  tokenizer: tok,
  sequences: calibN,
  ctx: 256,
  seed,
});

for (const row of ROWS) {
  if (only && !only.some((o) => row.name.includes(o))) continue;
  if (done.has(row.name)) continue;
  const t1 = performance.now();
  // the recipe without its weight quantizer: rotations and activation quantizers only
  const recipe = recipeFromName(row.base, seed);
  const prepared = prepareRecipe(model, { ...recipe, weights: null });
  const q = await quantizeModelSequential(prepared.model, {
    scheme: row.weights,
    method: row.method,
    calibration,
    gemm: pool.gemm,
    onProgress: (p) =>
      console.error(
        `  ${row.name}: L${p.layer}.${p.linear} ${p.done}/${p.total} proxy ${p.proxyLoss?.toExponential(3)} (rtn ${p.rtnProxyLoss?.toExponential(3)}) ${p.elapsedSeconds.toFixed(0)} s`,
      ),
  });
  const m = scoreCandidate(reference, q.model, prepared.hooks, { gemm: pool.gemm });
  const sumG = q.linears.reduce((s, l) => s + l.proxyLoss, 0);
  const sumR = q.linears.reduce((s, l) => s + l.rtnProxyLoss, 0);
  const extra = q.linears.filter((l) => l.damping?.extra).length;
  const rec = {
    name: row.name,
    method: row.method,
    weights: row.weights,
    recipe: row.base,
    ppl: m.ppl,
    ppl_se: m.ppl_se,
    ppl_base: m.ppl_base,
    kld: m.kld_mean,
    kld_se: m.kld_se,
    top1: m.top1,
    top1_se: m.top1_se,
    proxy_sum: sumG,
    proxy_rtn_sum: sumR,
    extra_damping_linears: extra,
    quantize_seconds: q.seconds,
    seconds: (performance.now() - t1) / 1000,
    windows: reference.windows.length,
    tokens_scored: m.tokens_scored,
    calibration: { text: 'docs-calib.txt', sequences: calibN, ctx: 256, seed, tokens: q.calibrationTokens },
  };
  fs.appendFileSync(out, `${JSON.stringify(rec)}\n`);
  done.set(row.name, rec);
  console.error(
    `${row.name}: PPL ${m.ppl.toFixed(3)} KLD ${m.kld_mean.toFixed(5)} top1 ${(m.top1 * 100).toFixed(2)}% (${rec.seconds.toFixed(0)} s)`,
  );
}
await pool.close();

const f = (x: unknown, d: number) => (typeof x === 'number' ? x.toFixed(d) : '');
console.log('| weights (method) | PPL | KLD | top-1 % | Σ proxy loss (Σ RTN) | quantize s |');
console.log('|---|---|---|---|---|---|');
const fp = [...done.values()][0];
if (fp) console.log(`| FP32 (reference) | ${f(fp.ppl_base, 3)} | 0 | 100 | | |`);
for (const row of ROWS) {
  const r = done.get(row.name) as Record<string, number> | undefined;
  if (!r) continue;
  console.log(
    `| ${row.name} | ${f(r.ppl, 3)} ± ${f(r.ppl_se, 3)} | ${f(r.kld, 5)} ± ${f(r.kld_se, 5)} | ${f(r.top1 * 100, 2)} ± ${f(r.top1_se * 100, 2)} | ${f(r.proxy_sum, 2)} (${f(r.proxy_rtn_sum, 2)}) | ${f(r.quantize_seconds, 0)} |`,
  );
}
