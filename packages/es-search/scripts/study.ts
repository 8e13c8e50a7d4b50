/**
 * The es-search study on nq-docs-5M, in one command (from the repository root):
 *
 *   pnpm exec tsx --conditions=source packages/es-search/scripts/study.ts [--quick] [--model <.bin>] [--out <dir>]
 *
 * 1. Captures every linear input (layer × {attn, o, ffn, down}) with its weights from docs-calib.txt:
 *    a search set (first half of the text) and a held-out set (second half).
 * 2. Per layer input and target (int8, w4a4): discover() vs identity / full random Hadamard / block-128
 *    random Hadamard — error on the search set and on the held-out set.
 * 3. β ∈ {0, 0.01, 0.1, 1} per ms with measured CPU latency (L3.ffn, w4a4).
 * 4. Block spectrum per layer (held-out error vs block size) and the best block per layer.
 * 5. Transfer of the signs found on L1.ffn to every other 256-channel input.
 * 6. Activation statistics before/after rotation.
 * 7. Model level: W4A4 (per-token activations, per-row weights) with the found rotations in every
 *    layer vs random Hadamard (3 seeds), block-128 and no rotation — KLD, PPL, same-top on a spread
 *    subset of docs-valid windows.
 * Writes results/study.json and results/study.md (the tables the README quotes); --quick (a smoke run
 * with tiny settings, ~1 min) writes to $TMPDIR/es-search-study instead.
 *
 * `--all-models` runs the compact cross-model study instead (scripts/study-models.ts: every model under
 * ../shared/models that loads; results/models.md).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeWindows } from '@nq/eval-ppl';
import { type RotationSpec, rotate } from '@nq/hadamard';
import { loadModel, Tokenizer } from '@nq/model';
import {
  activationStats,
  activationStatsRotated,
  allowedBlocks,
  baselineSpecs,
  buildReference,
  CpuErrorEvaluator,
  captureLayerData,
  type DiscoverResult,
  discover,
  evaluatePlan,
  fromRotationSpec,
  type InputGroup,
  type PlanEvaluation,
  pairedDifference,
  perLayerBestBlock,
  type QuantTarget,
  seededBlockHadamard,
  signTransfer,
  structureKey,
} from '../src/index.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const argVal = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const here = import.meta.dirname;
const shared = path.resolve(here, '../../../../shared');
const modelFile = argVal('--model') ?? path.join(shared, 'models/nq-docs-5M/nq-docs-5M.bin');
// --quick is a smoke run: its tables go to the temp folder, not next to the committed results.
const outDir =
  argVal('--out') ?? (quick ? path.join(os.tmpdir(), 'es-search-study') : path.resolve(here, '../results'));
const log = (s: string) => process.stderr.write(`[study ${new Date().toISOString().slice(11, 19)}] ${s}\n`);

const SEED = 2026;
const SEARCH = quick
  ? { population: 8, generations: 3, signGenerations: 2 }
  : { population: 16, generations: 12, signGenerations: 6 };
const CAPTURE = quick ? { ctx: 64, windows: 2, maxTokens: 64 } : { ctx: 128, windows: 8, maxTokens: 256 };
const EVAL_WINDOWS = quick ? 2 : 32;
const TARGETS: QuantTarget[] = ['int8', 'w4a4'];

const f = (v: number, d = 4) => (Number.isFinite(v) ? v.toPrecision(d) : String(v));
const pct = (a: number, b: number) => `${(((a - b) / b) * 100).toFixed(1)} %`;

async function main(): Promise<void> {
  const t0 = performance.now();
  fs.mkdirSync(outDir, { recursive: true });
  const model = await loadModel(modelFile);
  const tok = await Tokenizer.fromFile(path.join(path.dirname(modelFile), 'tok4096.model'));
  const calibText = fs
    .readFileSync(path.join(shared, 'data/docs-calib.txt'), 'utf8')
    .slice(0, quick ? 60_000 : 600_000);
  const calib = tok.encode(calibText);
  const half = Math.floor(calib.length / 2);
  log(`calibration: ${calib.length} tokens (search: first half, held out: second half)`);
  const search = captureLayerData(model, calib.subarray(0, half), { ...CAPTURE, seed: SEED });
  const holdout = captureLayerData(model, calib.subarray(half), {
    ...CAPTURE,
    maxTokens: CAPTURE.maxTokens * 2,
    seed: SEED + 1,
  });
  const md: string[] = [];
  const json: Record<string, unknown> = {
    model: modelFile,
    seed: SEED,
    search: SEARCH,
    capture: CAPTURE,
    quick,
  };

  // ---------------------------------------------------------------- 2. discover per layer and target
  const found = new Map<string, DiscoverResult>();
  const seedSpread = new Map<string, { mean: number; min: number; all: number[] }>();
  md.push(
    `## Search per layer input (seed ${SEED}; population ${SEARCH.population}, ${SEARCH.generations} structure + ${SEARCH.signGenerations} sign generations; ${search[0]!.x.rows} search tokens, ${holdout[0]!.x.rows} held-out tokens per input)`,
  );
  for (const target of TARGETS) {
    md.push('', `### target ${target}: relative error (search set / held-out set)`, '');
    md.push(
      '| input | identity | random Hadamard (full) | block-128 random Hadamard | best found | structure found | held-out: best vs full random | held-out: 8 full random Hadamard seeds, mean (min) | evals | s |',
    );
    md.push('|---|---|---|---|---|---|---|---|---|---|');
    for (let i = 0; i < search.length; i++) {
      const d = search[i]!;
      const r = await discover({ data: d, holdout: holdout[i]!, target, seed: SEED, ...SEARCH });
      found.set(`${target}:${d.name}`, r);
      const [id, full, blk, best] = r.comparison;
      const cell = (c: typeof id) => `${f(c!.error, 3)} / ${f(c!.holdoutError!, 3)}`;
      // The search keeps the best of ~300 candidates on the search set; how much of that is luck? The
      // spread of plain random Hadamards (8 seeds) on the held-out set answers it.
      const hev = new CpuErrorEvaluator(holdout[i]!.x, holdout[i]!.w, target);
      const seeds = [...Array(8).keys()].map((s) =>
        hev.error(seededBlockHadamard(d.x.cols, Math.max(...allowedBlocks(d.x.cols)), 100 + s, d.name)),
      );
      const seedMean = seeds.reduce((a, b) => a + b, 0) / seeds.length;
      seedSpread.set(`${target}:${d.name}`, { mean: seedMean, min: Math.min(...seeds), all: seeds });
      md.push(
        `| ${d.name} | ${cell(id)} | ${cell(full)} | ${cell(blk)} | ${cell(best)} | ${best!.structure} | ${pct(best!.holdoutError!, full!.holdoutError!)} | ${f(seedMean, 3)} (${f(Math.min(...seeds), 3)}) | ${r.evaluations} | ${r.wallSeconds.toFixed(1)} |`,
      );
      log(
        `${target} ${d.name}: best ${best!.structure} ${f(best!.error)} (full ${f(full!.error)}), held out ${f(best!.holdoutError!)} vs ${f(full!.holdoutError!)}; ${r.evaluations} evals in ${r.wallSeconds.toFixed(1)} s`,
      );
    }
  }
  json.discover = Object.fromEntries(
    [...found].map(([k, r]) => [k, { ...r, randomHadamardHoldout: seedSpread.get(k) }]),
  );

  // ---------------------------------------------------------------- 3. latency in the cost
  {
    // L3.ffn: where the β = 0 search of the first study run chose a 3-stage structure.
    const i = search.findIndex((d) => d.name === 'L3.ffn');
    const runs: string[] = [];
    md.push(
      '',
      '### Latency in the cost (L3.ffn, w4a4, CPU latency of rotating 256 × 256 measured with tinybench, cached per structure)',
      '',
    );
    md.push('| β (per ms) | structure found | error | held-out error | latency ms | structures measured |');
    md.push('|---|---|---|---|---|---|');
    for (const beta of [0, 0.01, 0.1, 1]) {
      const r = await discover({
        data: search[i]!,
        holdout: holdout[i]!,
        target: 'w4a4',
        seed: SEED,
        ...SEARCH,
        beta,
        latency: { mode: 'measure', backend: 'cpu', rows: 256, timeMs: quick ? 20 : 60 },
      });
      const best = r.comparison.at(-1)!;
      md.push(
        `| ${beta} | ${best.structure} | ${f(r.bestError)} | ${f(best.holdoutError!)} | ${f(r.bestLatencyMs, 3)} | ${Object.keys(r.latencyTable).length} |`,
      );
      runs.push(
        JSON.stringify({
          beta,
          structure: best.structure,
          error: r.bestError,
          latencyMs: r.bestLatencyMs,
          table: r.latencyTable,
        }),
      );
      log(`latency β=${beta}: ${best.structure} err ${f(r.bestError)} lat ${f(r.bestLatencyMs)} ms`);
    }
    json.latency = runs.map((s) => JSON.parse(s));
  }

  // ---------------------------------------------------------------- 4. block spectrum, best block per layer
  for (const target of TARGETS) {
    const best = perLayerBestBlock(holdout, target, SEED);
    json[`spectrum_${target}`] = best;
    md.push(
      '',
      `### Block spectrum, target ${target} (held-out error of one seeded random block-b Hadamard; b = 1 is no rotation)`,
      '',
    );
    const blocks = [...new Set(best.flatMap((b) => b.spectrum.map((p) => p.block)))].sort((a, b) => a - b);
    md.push(`| input | best block | ${blocks.join(' | ')} |`);
    md.push(`|---|---|${blocks.map(() => '---').join('|')}|`);
    for (const b of best) {
      const by = new Map(b.spectrum.map((p) => [p.block, p.error]));
      md.push(
        `| ${b.layer} | **${b.bestBlock}** | ${blocks.map((k) => (by.has(k) ? f(by.get(k)!, 3) : '')).join(' | ')} |`,
      );
    }
  }

  // ---------------------------------------------------------------- 5. sign transfer
  {
    const src = found.get('w4a4:L1.ffn')!;
    const rows = signTransfer(src.best, holdout, 'w4a4', SEED);
    json.transfer = { source: 'L1.ffn', structure: structureKey(fromRotationSpec(src.best)), rows };
    md.push(
      '',
      `### Sign transfer: the w4a4 rotation found on L1.ffn (${structureKey(fromRotationSpec(src.best))}) applied to the other 256-channel inputs (held-out w4a4 error)`,
      '',
    );
    md.push(
      '| input | transferred | same structure, random signs | full random Hadamard | found on this input |',
    );
    md.push('|---|---|---|---|---|');
    for (const r of rows) {
      const own = found.get(`w4a4:${r.layer}`)!.comparison.at(-1)!.holdoutError!;
      md.push(
        `| ${r.layer} | ${f(r.transferred, 3)} | ${f(r.sameStructureRandomSigns, 3)} | ${f(r.fullRandomHadamard, 3)} | ${f(own, 3)} |`,
      );
    }
  }

  // ---------------------------------------------------------------- 6. activation statistics
  {
    md.push(
      '',
      '### Activation statistics (held-out tokens): before → after full random Hadamard → after the w4a4 rotation found',
      '',
    );
    md.push('| input | kurtosis | max/mean | dynamic range (dB, per-token crest) |');
    md.push('|---|---|---|---|');
    const stats: unknown[] = [];
    for (const d of holdout) {
      const full = baselineSpecs(d.x.cols, SEED)[1]!.spec;
      const a = activationStatsRotated(d.x, full);
      const b = activationStats(rotate(d.x, found.get(`w4a4:${d.name}`)!.best));
      stats.push({ layer: d.name, before: a.before, afterFull: a.after, afterFound: b });
      md.push(
        `| ${d.name} | ${f(a.before.kurtosis, 3)} → ${f(a.after.kurtosis, 3)} → ${f(b.kurtosis, 3)} | ${f(a.before.maxOverMean, 3)} → ${f(a.after.maxOverMean, 3)} → ${f(b.maxOverMean, 3)} | ${a.before.dynamicRangeDb.toFixed(1)} → ${a.after.dynamicRangeDb.toFixed(1)} → ${b.dynamicRangeDb.toFixed(1)} |`,
      );
    }
    json.activationStats = stats;
  }

  // ---------------------------------------------------------------- 7. model level
  {
    const valid = Int32Array.from(
      tok.encode(fs.readFileSync(path.join(shared, 'data/docs-valid.txt'), 'utf8')),
    );
    const windows = makeWindows(valid.length, { ctx: 256, maxWindows: EVAL_WINDOWS, select: 'spread' });
    log(`model level: ${windows.length} spread windows of 256 tokens of docs-valid (${valid.length} tokens)`);
    const ref = buildReference(model, valid, windows);
    const byName = new Map(search.map((d) => [d.name, d]));
    const dimOf = (l: number, g: InputGroup) => byName.get(`L${l}.${g}`)!.x.cols;
    const plans: [string, (l: number, g: InputGroup) => RotationSpec | null][] = [
      ['no rotation (w4a4-rtn-token)', () => null],
      ...[0, 1, 2].map(
        (s) =>
          [
            `random Hadamard full, seed ${s}`,
            (l: number, g: InputGroup) => seededBlockHadamard(dimOf(l, g), dimOf(l, g), s, `L${l}.${g}`),
          ] as [string, (l: number, g: InputGroup) => RotationSpec],
      ),
      [
        'block-128 random Hadamard, seed 0',
        (l: number, g: InputGroup) => seededBlockHadamard(dimOf(l, g), 128, 0, `L${l}.${g}`),
      ],
      ['found (w4a4 target), per input', (l: number, g: InputGroup) => found.get(`w4a4:L${l}.${g}`)!.best],
      [
        'found structure, random signs (seed 0)',
        (l: number, g: InputGroup) => {
          const gn = fromRotationSpec(found.get(`w4a4:L${l}.${g}`)!.best);
          const specs = gn.stages.map(
            (st, k) => seededBlockHadamard(gn.dim, st.block, 0, `L${l}.${g}.s${k}`).stages[0]!,
          );
          return { version: 1, dim: gn.dim, stages: specs };
        },
      ],
      ['found (int8 target), per input', (l: number, g: InputGroup) => found.get(`int8:L${l}.${g}`)!.best],
    ];
    const rows: { name: string; r: PlanEvaluation }[] = [];
    for (const [name, plan] of plans) {
      const r = evaluatePlan(model, valid, windows, ref, plan);
      rows.push({ name, r });
      log(
        `model ${name}: KLD ${f(r.kld_mean)} ± ${f(r.kld_se, 2)}, PPL ${f(r.ppl, 5)} (fp ${f(r.ppl_base, 5)}), top1 ${(r.top1 * 100).toFixed(2)} % (${r.seconds.toFixed(0)} s)`,
      );
    }
    json.modelLevel = {
      windows: windows.length,
      ctx: 256,
      select: 'spread',
      tokens_scored: rows[0]!.r.tokens_scored,
      // Per-token KLD stays out of the JSON (8160 numbers per row); the paired differences go in.
      rows: rows.map(({ name, r }) => {
        const { kldPerToken, ...rest } = r;
        return {
          name,
          ...rest,
          kld_minus_random_hadamard_seed0: pairedDifference(kldPerToken, rows[1]!.r.kldPerToken),
        };
      }),
    };
    md.push(
      '',
      `### Model level: W4A4 on nq-docs-5M, ${windows.length} windows of 256 tokens spread over docs-valid (${rows[0]!.r.tokens_scored} scored tokens; fp PPL on this subset ${f(rows[0]!.r.ppl_base, 5)})`,
      '',
    );
    md.push(
      '| rotations | mean KLD ± SE | KLD − KLD(random Hadamard seed 0), paired over tokens ± SE | PPL ± SE | same top token |',
    );
    md.push('|---|---|---|---|---|');
    for (const { name, r } of rows) {
      const d = pairedDifference(r.kldPerToken, rows[1]!.r.kldPerToken);
      md.push(
        `| ${name} | ${f(r.kld_mean, 4)} ± ${f(r.kld_se, 2)} | ${d.mean === 0 ? '0' : `${d.mean >= 0 ? '+' : ''}${f(d.mean, 3)} ± ${f(d.se, 2)}`} | ${f(r.ppl, 5)} ± ${f(r.ppl_se, 2)} | ${(r.top1 * 100).toFixed(2)} % |`,
      );
    }
  }

  json.seconds = (performance.now() - t0) / 1000;
  md.push('', `Study wall time: ${(json.seconds as number).toFixed(0)} s.`);
  fs.writeFileSync(path.join(outDir, 'study.json'), JSON.stringify(json, null, 1));
  fs.writeFileSync(path.join(outDir, 'study.md'), `${md.join('\n')}\n`);
  log(`done in ${(json.seconds as number).toFixed(0)} s → ${outDir}`);
}

if (args.includes('--all-models')) await import('./study-models.js');
else
  main().catch((e) => {
    process.stderr.write(`${(e as Error)?.stack ?? e}\n`);
    process.exit(1);
  });
