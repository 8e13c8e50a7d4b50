/**
 * The README tables of @nq/rotation-opt, in one command:
 *
 *   pnpm --filter @nq/rotation-opt table [--windows 16] [--calib 4] [--gptq-calib 16] [--seed 0]
 *        [--dfrot-iters 20] [--ada-iters 30] [--ada-block 64] [--ada-calib 16] [--gamma 100] [--tau 10] [--out file.jsonl]
 *
 * nq-docs-5M, W4A4 INT4 and W4A4 NVFP4: none / RO / RH / DFRot / AdaCodec, each with RTN and GPTQ
 * weights — PPL, KLD, top-1 against the full-precision model on --windows windows of 256 tokens
 * spread evenly over docs-valid (windows ⌊i·899/N⌋; a CPU-sized subset of the 899) — plus the
 * massive-token table on the calibration inputs. Calibration: --calib sequences of 256 tokens from
 * docs-calib (start positions from Rng(seed), @nq/gptq's sampleCalibration) for the rotations and
 * the massive-token analysis; --gptq-calib sequences (same sampler, seed + 1) for GPTQ's Hessians.
 * Rows are appended to a JSON-lines file as they finish and reused on a rerun (a killed run
 * resumes); markdown goes to stdout.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sampleCalibration } from '@nq/gptq';
import { loadModel, Tokenizer } from '@nq/model';
import { defaultWasmGemm, gemmABt } from '@nq/model/cpu';
import {
  adaCodecDefaults,
  analyzeMassive,
  buildCodecModel,
  buildPlan,
  buildReference,
  captureInputs,
  type Method,
  type MethodOptions,
  type MethodReport,
  scoreCandidate,
  type W4A4Format,
} from '../src/index.js';

const here = path.dirname(new URL(import.meta.url).pathname);
const shared = path.resolve(here, '../../../../shared');
const args = process.argv.slice(2);
const opt = (name: string, d: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const windows = opt('windows', 16);
const calibN = opt('calib', 4);
const gptqCalibN = opt('gptq-calib', 16);
const seed = opt('seed', 0);
const dfrotIters = opt('dfrot-iters', 20);
const adaIters = opt('ada-iters', 30);
const adaBlock = opt('ada-block', 64);
const adaCalibN = opt('ada-calib', 16);
const gamma = opt('gamma', 100);
const tau = opt('tau', 10);
// A second, lower threshold for the per-class error table (τ = 10 finds no massive tokens here).
const tauLow = opt('tau-low', 3);
// --model <folder under ../shared/models> (default nq-docs-5M): its <folder>.bin + tok4096.model.
const modelIdx = args.indexOf('--model');
const modelName = modelIdx >= 0 ? args[modelIdx + 1]! : 'nq-docs-5M';
const outIdx = args.indexOf('--out');
const out = path.resolve(
  outIdx >= 0
    ? args[outIdx + 1]!
    : path.join(
        here,
        `../results/table-w${windows}-c${calibN}-seed${seed}${modelName === 'nq-docs-5M' ? '' : `-${modelName}`}.jsonl`,
      ),
);
const modelPath = path.join(shared, `models/${modelName}/${modelName}.bin`);
const tokPath = path.join(shared, `models/${modelName}/tok4096.model`);
const validPath = path.join(shared, 'data/docs-valid.txt');
const calibPath = path.join(shared, 'data/docs-calib.txt');
for (const f of [modelPath, tokPath, validPath, calibPath]) {
  if (!fs.existsSync(f)) {
    console.error(`missing ${f}: the shared model and data are needed for the table`);
    process.exit(2);
  }
}
const log = (m: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
const gemm = defaultWasmGemm()?.gemm ?? gemmABt;

const done = new Map<string, Record<string, unknown>>();
if (fs.existsSync(out))
  for (const line of fs.readFileSync(out, 'utf8').split('\n'))
    if (line.trim()) done.set(JSON.parse(line).name, JSON.parse(line));
fs.mkdirSync(path.dirname(out), { recursive: true });
const save = (rec: Record<string, unknown> & { name: string }) => {
  fs.appendFileSync(out, `${JSON.stringify(rec)}\n`);
  done.set(rec.name, rec);
};

const model = await loadModel(modelPath);
const tok = await Tokenizer.fromFile(tokPath);
const calib = await sampleCalibration({ text: calibPath, tokenizer: tok, sequences: calibN, ctx: 256, seed });
const gptqCalib = await sampleCalibration({
  text: calibPath,
  tokenizer: tok,
  sequences: gptqCalibN,
  ctx: 256,
  seed: seed + 1,
});
const captured = captureInputs(model, calib, undefined, gemm);
log(`captured ${captured.rows} calibration tokens per input`);

if (!done.has('massive')) {
  const rows = analyzeMassive(model, captured, { seed, tau });
  save({ name: 'massive', rows });
}
if (!done.has(`massive-tau${tauLow}`)) {
  const rows = analyzeMassive(model, captured, { seed, tau: tauLow, extraTaus: [] });
  save({ name: `massive-tau${tauLow}`, rows });
}

const tokens = tok.encode(fs.readFileSync(validPath, 'utf8'));
const t0 = performance.now();
const reference = buildReference(model, tokens, { ctx: 256, windows, select: 'spread', gemm });
log(
  `reference: ${reference.windows.length} windows, ${reference.ref.positions} scored tokens, ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);

const FORMATS: W4A4Format[] = ['int4', 'nvfp4'];
// 'adacodec' = the package defaults (adaCodecDefaults); the variants are extra rows.
type Row = Method | 'adacodec-tied' | 'adacodec-ste' | 'adacodec-more';
const METHOD_ROWS: Row[] = [
  'none',
  'ro',
  'rh',
  'dfrot',
  'adacodec',
  'adacodec-more',
  'adacodec-tied',
  'adacodec-ste',
];
const VARIANT: Partial<Record<Row, MethodOptions['adacodec']>> = {
  'adacodec-tied': { decoder: 'tied' },
  // Session 1's AdaCodec: STE encoder and decoder, no momentum, lr 0.02.
  'adacodec-ste': { gradient: 'ste', decoder: 'ste', momentum: 0, lr: 0.02 },
};
// NVFP4's default decoder is tied, and its AdaCodec does not move from the init: no extra rows.
const rowsFor = (format: W4A4Format): Row[] =>
  METHOD_ROWS.filter((m) => !(format === 'nvfp4' && (m === 'adacodec-tied' || m === 'adacodec-more')));
// 'adacodec-more': the default AdaCodec fitted on --ada-calib sequences (more tokens against the
// decoder's over-fit); captured only when that row is computed.
let capturedMore: ReturnType<typeof captureInputs> | null = null;
const capturedFor = async (method: Row) => {
  if (method !== 'adacodec-more') return captured;
  if (!capturedMore) {
    const more = await sampleCalibration({
      text: calibPath,
      tokenizer: tok,
      sequences: adaCalibN,
      ctx: 256,
      seed,
    });
    capturedMore = captureInputs(model, more, ['attn', 'ffn'], gemm);
    log(`captured ${capturedMore.rows} calibration tokens per attn/ffn input for the adacodec-more row`);
  }
  return capturedMore;
};
for (const format of FORMATS) {
  for (const method of rowsFor(format)) {
    const names = (['rtn', 'gptq'] as const).map((w) => `${format} ${method} ${w}`);
    if (names.every((n) => done.has(n))) continue;
    const { plan, report } = buildPlan(model, await capturedFor(method), {
      method: method.startsWith('adacodec') ? 'adacodec' : (method as Method),
      format,
      seed,
      tau,
      gamma,
      dfrot: { iterations: dfrotIters },
      adacodec: { iterations: adaIters, block: adaBlock, ...VARIANT[method] },
      gemm,
      log,
    });
    log(
      `${format} ${method}: plan in ${report.planSeconds.toFixed(1)} s (optimisation ${report.seconds.toFixed(1)} s)`,
    );
    for (const weights of ['rtn', 'gptq'] as const) {
      const name = `${format} ${method} ${weights}`;
      if (done.has(name)) continue;
      const t1 = performance.now();
      const cm = buildCodecModel(model, plan, { activations: format, weights, calibration: gptqCalib, gemm });
      const m = scoreCandidate(cm.model, cm.hooks, reference, gemm);
      const rec = {
        name,
        format,
        method,
        weights,
        ppl: m.ppl,
        ppl_se: m.ppl_se,
        ppl_base: m.ppl_base,
        kld: m.kld_mean,
        kld_se: m.kld_se,
        top1: m.top1,
        top1_se: m.top1_se,
        optimise_seconds: report.seconds,
        plan_seconds: report.planSeconds,
        quantize_seconds: cm.seconds,
        seconds: (performance.now() - t1) / 1000,
        curves: weights === 'rtn' ? report.curves : undefined,
        windows: reference.windows.length,
        tokens_scored: m.tokens_scored,
        settings: {
          calib: calibN,
          gptqCalib: gptqCalibN,
          seed,
          tau,
          gamma,
          dfrotIters,
          adaIters,
          adaBlock,
          ...(method === 'adacodec-more' ? { adaCalib: adaCalibN } : {}),
        },
        adacodec: method.startsWith('adacodec')
          ? { ...adaCodecDefaults(format), iterations: adaIters, block: adaBlock, ...VARIANT[method] }
          : undefined,
      };
      save(rec);
      log(
        `${name}: PPL ${m.ppl.toFixed(3)} KLD ${m.kld_mean.toFixed(4)} top1 ${(m.top1 * 100).toFixed(2)}% (${rec.seconds.toFixed(0)} s)`,
      );
    }
  }
}

// ---- markdown ----
const f = (x: unknown, d: number) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '—');
const NAMES: Record<Row, string> = {
  none: 'no rotation',
  ro: 'R1 random orthogonal (RO)',
  rh: 'R1 random Hadamard (RH)',
  dfrot: 'R1 DFRot (RH init)',
  adacodec: `AdaCodec (b=${adaBlock}; surrogate encoder, INT4: Procrustes decoder, NVFP4: tied)`,
  'adacodec-tied': `AdaCodec (b=${adaBlock}; surrogate encoder, tied decoder D = Eᵀ)`,
  'adacodec-ste': `AdaCodec (b=${adaBlock}; session 1: STE encoder + decoder)`,
  'adacodec-more': `AdaCodec (b=${adaBlock}; defaults, fitted on ${adaCalibN} × 256 tokens)`,
};
const any = [...done.values()].find((r) => typeof r.ppl_base === 'number') as
  | Record<string, number>
  | undefined;
console.log(
  `FP32 reference PPL on this subset: ${f(any?.ppl_base, 3)} (${any?.windows} windows, ${any?.tokens_scored} scored tokens)\n`,
);
// Rows written before plan_seconds existed stored the whole plan time as optimise_seconds.
console.log('| format | R1 / codec | weights | PPL | KLD | top-1 % | plan s |');
console.log('|---|---|---|---|---|---|---|');
for (const format of FORMATS) {
  for (const method of rowsFor(format)) {
    for (const w of ['rtn', 'gptq']) {
      const r = done.get(`${format} ${method} ${w}`) as Record<string, number> | undefined;
      if (!r) continue;
      console.log(
        `| W4A4 ${format.toUpperCase()} | ${NAMES[method]} | ${w.toUpperCase()} | ${f(r.ppl, 3)} ± ${f(r.ppl_se, 3)} | ${f(r.kld, 4)} ± ${f(r.kld_se, 4)} | ${f(r.top1 * 100, 2)} ± ${f(r.top1_se * 100, 2)} | ${f(r.plan_seconds ?? r.optimise_seconds, 0)} |`,
      );
    }
  }
}
console.log(
  '\nOptimisation loss (weighted relative quantization / reconstruction error on the calibration inputs, initial → best):\n',
);
console.log('| format | method | curve | loss[0] | best | iterations |');
console.log('|---|---|---|---|---|---|');
for (const format of FORMATS) {
  for (const method of ['dfrot', 'adacodec', 'adacodec-more', 'adacodec-tied', 'adacodec-ste'] as const) {
    const r = done.get(`${format} ${method} rtn`) as { curves?: MethodReport['curves'] } | undefined;
    for (const c of r?.curves ?? [])
      console.log(
        `| ${format} | ${method} | ${c.key} | ${c.loss[0]!.toExponential(4)} | ${c.loss[c.best]!.toExponential(4)} (it ${c.best}) | ${c.loss.length - 1} |`,
      );
  }
}
for (const [key, t] of [
  ['massive', tau],
  [`massive-tau${tauLow}`, tauLow],
] as const) {
  const ma = done.get(key) as { rows: import('../src/index.js').MassiveRow[] } | undefined;
  if (!ma) continue;
  console.log(
    `\nMassive tokens (‖x‖∞ > τ·median‖x‖∞, τ = ${t}) per layer input over ${ma.rows[0]?.tokens} calibration tokens, and relative quantization error Σ‖x−x̂‖²/Σ‖x‖² (INT4 per token | NVFP4) of normal / massive tokens:\n`,
  );
  console.log(
    `| layer | input | massive (τ=${t}) | at τ=${ma.rows[0]?.countsAt.map((c) => c.tau).join(' / τ=') || '—'} | max ratio | channels | identity | RH | RO |`,
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  const e = (r: import('../src/index.js').MassiveRow, k: 'identity' | 'rh' | 'ro') =>
    (['int4', 'nvfp4'] as const)
      .map(
        (fm) =>
          `${f(r.errors[fm][k].normal * 100, 2)}% / ${r.errors[fm][k].nMassive ? `${f(r.errors[fm][k].massive * 100, 2)}%` : '—'}`,
      )
      .join(' \\| ');
  for (const r of ma.rows) {
    console.log(
      `| ${r.layer} | ${r.group} | ${r.count} | ${r.countsAt.map((c) => c.count).join(' / ')} | ${f(r.maxRatio, 2)} | ${r.channels.map((c) => `${c.channel}(${c.tokens})`).join(' ') || '—'} | ${e(r, 'identity')} | ${e(r, 'rh')} | ${e(r, 'ro')} |`,
    );
  }
}
