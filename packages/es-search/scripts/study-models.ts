/**
 * The es-search study across every model under ../shared/models (a compact version of study.ts, run
 * by `study.ts --all-models`; from the repository root):
 *
 *   pnpm exec tsx --conditions=source packages/es-search/scripts/study.ts --all-models [--quick] [--out <dir>]
 *
 * Models are discovered, not named: every `<folder>/<name>.bin` with `tok4096.model` beside it that
 * @nq/model loads. Per model:
 *  1. capture every linear input (layer × {attn, o, ffn, down}) from docs-calib.txt — search rows from
 *     the first half of the text, held-out rows from the second half;
 *  2. per input and target (int8, w4a4): discover() (capped: population 12, 8 structure + 4 sign
 *     generations) vs identity / full random Hadamard / block-b random Hadamard, held-out errors, and
 *     the held-out error of 4 other full random Hadamard seeds (is the win bigger than seed luck?);
 *  3. model level: W4A4 (per-token activations, per-row weights) on spread docs-valid windows with no
 *     rotation, random Hadamard (2 seeds), the found w4a4 rotations, and the found structures with
 *     random signs — KLD and paired KLD differences against random Hadamard seed 0.
 * Writes results/models.json and results/models.md (--quick: a smoke run into $TMPDIR).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeWindows } from '@nq/eval-ppl';
import type { RotationSpec } from '@nq/hadamard';
import { type LoadedModel, loadModel, Tokenizer } from '@nq/model';
import {
  allowedBlocks,
  buildReference,
  CpuErrorEvaluator,
  captureLayerData,
  discover,
  evaluatePlan,
  fromRotationSpec,
  type InputGroup,
  type PlanEvaluation,
  pairedDifference,
  type QuantTarget,
  seededBlockHadamard,
} from '../src/index.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const argVal = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const here = import.meta.dirname;
const shared = path.resolve(here, '../../../../shared');
const outDir =
  argVal('--out') ?? (quick ? path.join(os.tmpdir(), 'es-search-study') : path.resolve(here, '../results'));
const log = (s: string) => process.stderr.write(`[models ${new Date().toISOString().slice(11, 19)}] ${s}\n`);

const SEED = 2026;
const SEARCH = quick
  ? { population: 6, generations: 2, signGenerations: 1 }
  : { population: 12, generations: 8, signGenerations: 4 };
const CAPTURE = quick ? { ctx: 64, windows: 2, maxTokens: 64 } : { ctx: 128, windows: 6, maxTokens: 192 };
const EVAL_WINDOWS = quick ? 2 : 16;
const OTHER_SEEDS = 4;
const TARGETS: QuantTarget[] = ['int8', 'w4a4'];

const f = (v: number, d = 3) => (Number.isFinite(v) ? v.toPrecision(d) : String(v));
const pctNum = (a: number, b: number) => ((a - b) / b) * 100;

/** `<folder>/<folder>.bin`-style models with tok4096.model beside them, sorted by parameter count later. */
function discoverModels(): string[] {
  const root = path.join(shared, 'models');
  if (!fs.existsSync(root)) return [];
  const out: string[] = [];
  for (const d of fs.readdirSync(root).sort()) {
    const dir = path.join(root, d);
    if (!fs.statSync(dir).isDirectory() || !fs.existsSync(path.join(dir, 'tok4096.model'))) continue;
    for (const fl of fs.readdirSync(dir))
      if (fl.endsWith('.bin') && !fl.startsWith('tok')) out.push(path.join(dir, fl));
  }
  return out;
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface InputRow {
  input: string;
  dim: number;
  target: QuantTarget;
  identity: number;
  fullRandom: number;
  blockRandom: number;
  best: number;
  structure: string;
  otherSeedsMin: number;
  otherSeedsMean: number;
  evaluations: number;
  seconds: number;
}

async function studyModel(file: string, calibText: string, validText: string) {
  const name = path.basename(file, '.bin');
  let model: LoadedModel;
  try {
    model = await loadModel(file);
  } catch (e) {
    log(`${name}: does not load (${(e as Error).message}); skipped`);
    return null;
  }
  const t0 = performance.now();
  const tok = await Tokenizer.fromFile(path.join(path.dirname(file), 'tok4096.model'));
  const calib = tok.encode(calibText);
  const half = Math.floor(calib.length / 2);
  const search = captureLayerData(model, calib.subarray(0, half), { ...CAPTURE, seed: SEED });
  const holdout = captureLayerData(model, calib.subarray(half), {
    ...CAPTURE,
    maxTokens: CAPTURE.maxTokens * 2,
    seed: SEED + 1,
  });
  const c = model.config;
  log(`${name}: d=${c.dim} layers=${c.nLayers} hidden=${c.hiddenDim}; ${search.length} inputs`);
  const rows: InputRow[] = [];
  const found = new Map<string, RotationSpec>();
  for (const target of TARGETS) {
    for (let i = 0; i < search.length; i++) {
      const d = search[i]!;
      const r = await discover({ data: d, holdout: holdout[i]!, target, seed: SEED, ...SEARCH });
      found.set(`${target}:${d.name}`, r.best);
      const [id, full, blk, best] = r.comparison;
      const hev = new CpuErrorEvaluator(holdout[i]!.x, holdout[i]!.w, target);
      const fullBlock = Math.max(...allowedBlocks(d.x.cols));
      const seeds = [...Array(OTHER_SEEDS).keys()].map((s) =>
        hev.error(seededBlockHadamard(d.x.cols, fullBlock, 100 + s, d.name)),
      );
      rows.push({
        input: d.name,
        dim: d.x.cols,
        target,
        identity: id!.holdoutError!,
        fullRandom: full!.holdoutError!,
        blockRandom: blk!.holdoutError!,
        best: best!.holdoutError!,
        structure: best!.structure,
        otherSeedsMin: Math.min(...seeds),
        otherSeedsMean: seeds.reduce((a, b) => a + b, 0) / seeds.length,
        evaluations: r.evaluations,
        seconds: r.wallSeconds,
      });
    }
    log(`${name} ${target}: ${search.length} searches done`);
  }

  // Model level.
  const valid = Int32Array.from(tok.encode(validText));
  const windows = makeWindows(valid.length, {
    ctx: Math.min(256, c.seqLen),
    maxWindows: EVAL_WINDOWS,
    select: 'spread',
  });
  const ref = buildReference(model, valid, windows);
  const dimOf = new Map(search.map((d) => [d.name, d.x.cols]));
  const dimFor = (l: number, g: InputGroup) => dimOf.get(`L${l}.${g}`)!;
  const plans: [string, (l: number, g: InputGroup) => RotationSpec | null][] = [
    ['no rotation', () => null],
    ['random Hadamard, seed 0', (l, g) => seededBlockHadamard(dimFor(l, g), dimFor(l, g), 0, `L${l}.${g}`)],
    ['random Hadamard, seed 1', (l, g) => seededBlockHadamard(dimFor(l, g), dimFor(l, g), 1, `L${l}.${g}`)],
    ['found (w4a4 target)', (l, g) => found.get(`w4a4:L${l}.${g}`)!],
    [
      'found structure, random signs',
      (l, g) => {
        const gn = fromRotationSpec(found.get(`w4a4:L${l}.${g}`)!);
        const stages = gn.stages.map(
          (st, k) => seededBlockHadamard(gn.dim, st.block, 0, `L${l}.${g}.s${k}`).stages[0]!,
        );
        return { version: 1, dim: gn.dim, stages };
      },
    ],
  ];
  const evals: { name: string; r: PlanEvaluation }[] = [];
  for (const [pname, plan] of plans)
    evals.push({ name: pname, r: evaluatePlan(model, valid, windows, ref, plan) });
  const refKld = evals[1]!.r.kldPerToken;
  const modelLevel = evals.map(({ name: n, r }) => ({
    name: n,
    kld_mean: r.kld_mean,
    kld_se: r.kld_se,
    ppl: r.ppl,
    ppl_base: r.ppl_base,
    top1: r.top1,
    tokens_scored: r.tokens_scored,
    minusRandomHadamardSeed0: pairedDifference(r.kldPerToken, refKld),
  }));
  const seconds = (performance.now() - t0) / 1000;
  log(`${name}: done in ${seconds.toFixed(0)} s`);
  return {
    name,
    file: path.relative(shared, file),
    config: { dim: c.dim, layers: c.nLayers, hidden: c.hiddenDim, heads: c.nHeads, kvHeads: c.nKvHeads },
    windows: windows.length,
    rows,
    modelLevel,
    seconds,
  };
}

async function main(): Promise<void> {
  const t0 = performance.now();
  fs.mkdirSync(outDir, { recursive: true });
  const calibText = fs
    .readFileSync(path.join(shared, 'data/docs-calib.txt'), 'utf8')
    .slice(0, quick ? 60_000 : 400_000);
  const validText = fs.readFileSync(path.join(shared, 'data/docs-valid.txt'), 'utf8');
  const files = discoverModels();
  log(`models: ${files.map((p) => path.basename(p)).join(', ')}`);
  const results = [];
  for (const file of files) {
    const r = await studyModel(file, calibText, validText);
    if (r) results.push(r);
  }

  const md: string[] = [
    `## Every shared model (seed ${SEED}; population ${SEARCH.population}, ${SEARCH.generations} structure + ${SEARCH.signGenerations} sign generations; ${CAPTURE.maxTokens} search / ${CAPTURE.maxTokens * 2} held-out tokens per input; model level: ${EVAL_WINDOWS} spread docs-valid windows, W4A4 per-token / per-row RTN)`,
    '',
    'Held-out relative error, best found vs one full random Hadamard (negative = found is better), summarised over every layer input; "beats seed luck" counts inputs where the found rotation is below the best of 4 other random-Hadamard seeds.',
    '',
    '| model | d / layers | target | inputs | median gain vs RH | range | beats seed luck | identity → RH (median) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const m of results) {
    for (const target of TARGETS) {
      const rs = m.rows.filter((r) => r.target === target);
      const gains = rs.map((r) => pctNum(r.best, r.fullRandom));
      const luck = rs.filter((r) => r.best < r.otherSeedsMin).length;
      md.push(
        `| ${m.name} | ${m.config.dim} / ${m.config.layers} | ${target} | ${rs.length} | ${median(gains).toFixed(1)} % | ${Math.min(...gains).toFixed(1)} … ${Math.max(...gains).toFixed(1)} % | ${luck} / ${rs.length} | ${f(median(rs.map((r) => r.identity)))} → ${f(median(rs.map((r) => r.fullRandom)))} |`,
      );
    }
  }
  md.push(
    '',
    'Model level (W4A4): mean KLD ± SE, and the paired difference to random Hadamard seed 0 over the same tokens (± SE).',
    '',
    '| model | no rotation | RH seed 0 | RH seed 1 (Δ) | found w4a4 (Δ) | found structure, random signs (Δ) | tokens |',
    '|---|---|---|---|---|---|---|',
  );
  for (const m of results) {
    const [none, rh0, rh1, fnd, rs] = m.modelLevel;
    const d = (x: (typeof m.modelLevel)[number]) =>
      `${f(x.kld_mean, 4)} (${x.minusRandomHadamardSeed0.mean >= 0 ? '+' : ''}${f(x.minusRandomHadamardSeed0.mean, 2)} ± ${f(x.minusRandomHadamardSeed0.se, 1)})`;
    md.push(
      `| ${m.name} | ${f(none!.kld_mean, 4)} | ${f(rh0!.kld_mean, 4)} ± ${f(rh0!.kld_se, 2)} | ${d(rh1!)} | ${d(fnd!)} | ${d(rs!)} | ${rh0!.tokens_scored} |`,
    );
  }
  const seconds = (performance.now() - t0) / 1000;
  md.push(
    '',
    `Wall time: ${seconds.toFixed(0)} s (${results.map((m) => `${m.name} ${m.seconds.toFixed(0)} s`).join(', ')}).`,
  );
  fs.writeFileSync(
    path.join(outDir, 'models.json'),
    JSON.stringify(
      {
        seed: SEED,
        search: SEARCH,
        capture: CAPTURE,
        evalWindows: EVAL_WINDOWS,
        quick,
        models: results,
        seconds,
      },
      null,
      1,
    ),
  );
  fs.writeFileSync(path.join(outDir, 'models.md'), `${md.join('\n')}\n`);
  log(`done in ${seconds.toFixed(0)} s → ${outDir}`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error)?.stack ?? e}\n`);
  process.exit(1);
});
