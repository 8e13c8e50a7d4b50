/**
 * The README table: every recipe on nq-docs-5M, on docs-valid and WikiText-2 test (PPL, ΔPPL, KLD,
 * top-1). `pnpm --filter @nq/eval-ppl table [--windows N] [--all] [--seed S] [--out file.jsonl]
 * [--recipes a,b,c] [--datasets docs-valid,wikitext2-test] [--backend cpu|webgpu] [--shared dir]`.
 *
 * By default it evaluates 12 windows of 256 tokens spread evenly over each text (a CPU-sized subset:
 * the full WikiText-2 test set is 2043 windows per recipe); --all evaluates every window. Results are
 * appended to a JSON-lines file as each recipe finishes, and rows already there are not recomputed,
 * so a killed run resumes. The markdown table goes to stdout.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type EvalResult, evaluate } from '../src/index.js';

const here = path.dirname(new URL(import.meta.url).pathname);
const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
// ../shared beside the repository, or --shared / NQ_SHARED (e.g. on a GPU machine running a bundle).
const shared = path.resolve(
  opt('shared') ?? process.env.NQ_SHARED ?? path.resolve(here, '../../../../shared'),
);
const backend = opt('backend') ?? 'cpu';
if (backend !== 'cpu' && backend !== 'webgpu') {
  console.error(`--backend must be cpu or webgpu, got ${backend}`);
  process.exit(2);
}
const all = args.includes('--all');
const windows = all ? undefined : Number(opt('windows') ?? 12);
const seed = Number(opt('seed') ?? 0);
const out = path.resolve(
  opt('out') ??
    path.join(
      here,
      `../results/recipe-table${all ? '-all' : `-w${windows}`}-seed${seed}${backend === 'cpu' ? '' : `-${backend}`}.jsonl`,
    ),
);
const model = path.join(shared, 'models/nq-docs-5M/nq-docs-5M.bin');
const datasets = (opt('datasets') ?? 'docs-valid,wikitext2-test').split(',');

export const TABLE_RECIPES = [
  'fp',
  'w4a16-rtn-g128',
  'w8a8-rtn',
  'w4a4-rtn-token',
  'w4a4-rtn-token:w-only',
  'w4a4-rtn-token:a-only',
  'w4a4-rtn-tensor',
  'w4a4-rtn-tensor:a-only',
  'had-w4a4',
  'had-w4a4:w-only',
  'had-w4a4:a-only',
  'bhad16-w4a4',
  'bhad32-w4a4',
  'bhad64-w4a4',
  'bhad128-w4a4',
  'ro-w4a4',
  'ro-w4a4:w-only',
  'ro-w4a4:a-only',
  'adaptive-w4a4',
  'adaptive-w4a4:a-only',
  'quarot-w4a4',
  'quarot-w4a4:w-only',
  'quarot-w4a4:a-only',
  'had-w4a4+kv4',
  'quarot-w4a4+kv4',
];
const recipes = opt('recipes')?.split(',') ?? TABLE_RECIPES;

if (!fs.existsSync(model)) {
  console.error(`missing ${model}: the shared models are needed for the table`);
  process.exit(2);
}
fs.mkdirSync(path.dirname(out), { recursive: true });
type Row = Omit<EvalResult, 'report' | 'report_text'> & { dataset: string };
const done: Row[] = fs.existsSync(out)
  ? fs
      .readFileSync(out, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Row)
  : [];
const have = (d: string, r: string) => done.find((x) => x.dataset === d && x.recipe === r);

for (const dataset of datasets) {
  for (const recipe of recipes) {
    if (have(dataset, recipe)) continue;
    let last = 0;
    const res = await evaluate({
      model,
      text: path.join(shared, `data/${dataset}.txt`),
      recipe,
      seed,
      windows,
      backend,
      select: windows ? 'spread' : 'first',
      onProgress: (p) => {
        const now = Date.now();
        if (now - last > 15000) {
          last = now;
          process.stderr.write(
            `  ${dataset} ${recipe} ${p.phase} ${p.windowsDone}/${p.windowsTotal} ${p.tokensPerSecond.toFixed(0)} tok/s, ETA ${p.etaSeconds.toFixed(0)} s\n`,
          );
        }
      },
    });
    const { report: _r, report_text: _t, ...row } = res;
    const r: Row = { dataset, ...row };
    done.push(r);
    fs.appendFileSync(out, `${JSON.stringify(r)}\n`);
    process.stderr.write(
      `${dataset} ${recipe}: PPL ${res.ppl.toFixed(3)} KLD ${res.kld_mean.toFixed(5)} top1 ${(100 * res.top1).toFixed(2)}% (${res.candidate_seconds.toFixed(1)} s)\n`,
    );
  }
}

// Markdown: one row per recipe, docs-valid and WikiText-2 side by side.
const f = (v: number, d: number) => v.toFixed(d);
const cell = (r: Row | undefined, fp: Row | undefined) =>
  r
    ? `${f(r.ppl, 2)} | ${fp ? (r.ppl - fp.ppl >= 0 ? '+' : '') + f(r.ppl - fp.ppl, 2) : ''} | ${f(r.kld_mean, 4)} ± ${f(r.kld_se, 4)} | ${f(100 * r.top1, 1)}`
    : ' | | | ';
const head = datasets.map((d) => `${d} PPL | ΔPPL | KLD | top-1 %`).join(' | ');
console.log(`| recipe | ${head} |`);
console.log(`|---|${datasets.map(() => '---|---|---|---').join('|')}|`);
for (const recipe of recipes) {
  console.log(`| \`${recipe}\` | ${datasets.map((d) => cell(have(d, recipe), have(d, 'fp'))).join(' | ')} |`);
}
const ex = done.find((x) => x.dataset === datasets[0]);
if (ex)
  console.log(
    `\n${ex.windows} windows of ${ex.ctx} tokens per text (${ex.select}), ${ex.tokens_scored} scored tokens; seed ${seed}; KLD method ${ex.kld_method}; backend ${backend}${ex.device ? ` (${ex.device})` : ''}.`,
  );
