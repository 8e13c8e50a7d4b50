#!/usr/bin/env node
import { NqError, NqInputError } from '@nq/core';
import { Command, Option } from 'commander';
import { ACT_NAMES_HELP, ROTATION_NAMES_HELP, WEIGHT_NAMES_HELP } from './techniques/catalog.js';

// Each command's module is imported when that command runs: `nq bench` need not load vega, and
// `nq sweep` need not load the report renderer.
const sweepMod = () => import('./commands/sweep.js');

/**
 * The `nq` command line. `nq` alone runs the default sweep (sweeps/default.yaml) and prints its
 * results table. Exit status: 0 ok, 1 failure (e.g. a reproduction that differs), 2 bad input,
 * 3 not supported (yet), 130 interrupted (Ctrl-C).
 */

/** Ctrl-C: the first stops after the current cell (its row is written if it finishes), the second exits at once. */
let stopRequested = false;
function installSigint(): () => boolean {
  process.on('SIGINT', () => {
    if (stopRequested) {
      process.stderr.write(
        '\nnq: second Ctrl-C, abandoning the current cell; every finished row is on disk\n',
      );
      process.exit(130);
    }
    stopRequested = true;
    process.stderr.write('\nnq: Ctrl-C, stopping after the current cell (Ctrl-C again to abandon it)\n');
  });
  return () => stopRequested;
}

const program = new Command()
  .name('nq')
  .description('nq — composable LLM quantization, measured: sweeps, reports, evaluation, benchmarks')
  .showHelpAfterError()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

program
  .command('sweep', { isDefault: true })
  .description(
    'run a sweep file (default: sweeps/default.yaml); finished cells are skipped, results appended to results/<name>.jsonl',
  )
  .argument('[config]', 'sweep file (.yaml/.json) or the name of one in sweeps/', 'default')
  .option('-o, --out <file>', 'results file (default results/<sweep name>.jsonl)')
  .option('-f, --force', 'recompute cells that already have a row (the new row supersedes the old)')
  .option('-q, --quick', 'CI-sized variant: small matrices, first seed, 1 window (stored as <name>-quick)')
  .option('--no-progress', 'no progress bar (a line every 10% instead)')
  .option('--max-cells <n>', 'stop after computing n cells (resume later)', (v) => intArg('--max-cells', v))
  .option('--list', 'list the named sweeps with their hypotheses and exit')
  .option('--print', 'print the sweep with defaults filled in and exit')
  .addOption(
    new Option('--backend <b>', 'backend of kernel/layer cells (rotation + quantizers); part of the cell id')
      .choices(['cpu', 'webgpu', 'gpujs'])
      .default('cpu'),
  )
  .addOption(
    new Option('--gpujs-mode <m>', 'gpu.js mode for --backend gpujs (default webgpu)').choices([
      'webgpu',
      'webasm',
      'cpu',
    ]),
  )
  .addHelpText(
    'after',
    `\nNames a sweep file may use:\n  rotations: ${ROTATION_NAMES_HELP}\n  act:       ${ACT_NAMES_HELP}\n  weight:    ${WEIGHT_NAMES_HELP}\n`,
  )
  .action(async (config: string, opts) => {
    const { listSweeps, printResolved, sweepCommand } = await sweepMod();
    if (opts.list) {
      for (const s of listSweeps())
        process.stdout.write(`${s.name.padEnd(28)} ${s.kind.padEnd(10)} ${s.hypothesis ?? ''}\n`);
      return;
    }
    if (opts.print) {
      process.stdout.write(printResolved(config, !!opts.quick));
      return;
    }
    const shouldStop = installSigint();
    const r = await sweepCommand(config, {
      out: opts.out,
      force: opts.force,
      quick: opts.quick,
      progress: opts.progress === false ? false : undefined,
      maxCells: opts.maxCells,
      backend: opts.backend,
      gpujsMode: opts.gpujsMode,
      shouldStop,
    });
    if (r.summary.interrupted && stopRequested) process.exitCode = 130;
  });

program
  .command('report')
  .description('markdown tables + SVG plots + hypothesis verdicts for one or more results files')
  .argument('<results...>', 'results .jsonl files (or sweep names: results/<name>.jsonl)')
  .option('-o, --out <dir>', 'output folder (default: results/report)')
  .option('--stdout', 'also print the markdown to stdout')
  .action(async (results: string[], opts) => {
    const { reportCommand } = await import('./commands/report.js');
    await reportCommand(results, { outDir: opts.out, stdout: !!opts.stdout });
  });

program
  .command('eval')
  .description('perplexity and KL divergence of a recipe on a text (via @nq/eval-ppl)')
  .requiredOption('--model <file>', 'model checkpoint (.bin, .gguf, .safetensors)')
  .requiredOption('--data <file>', 'text file')
  .requiredOption(
    '--recipe <name-or-json>',
    'recipe name (fp, w4a4-rtn-token, had-w4a4, …) or a recipe JSON file',
  )
  .option('--ctx <n>', 'context (window) length', (v) => intArg('--ctx', v), 256)
  .option('--stride <n>', 'sliding-window stride (default: non-overlapping windows)', (v) =>
    intArg('--stride', v),
  )
  .option('--windows <n>', 'evaluate only the first n windows', (v) => intArg('--windows', v))
  .option('--seed <n>', 'seed of random rotations', (v) => intArg('--seed', v), 0)
  .addOption(
    new Option('--backend <b>', 'where the forward passes run').choices(['cpu', 'webgpu']).default('cpu'),
  )
  .option(
    '--json',
    'print one JSON object (ppl, ppl_se, kld_mean, kld_se, kld_median, kld_p99, top1, windows, tokens_scored, seconds)',
  )
  .action(async (opts) => {
    const { evalCommand } = await import('./commands/eval.js');
    process.exitCode = await evalCommand(opts);
  });

program
  .command('bench')
  .description(
    'run the tinybench suites (benchmarks/src/suites) — arguments are passed to the benchmarks runner',
  )
  .argument('[suite...]', 'suites to run (default: all)')
  .addOption(new Option('--backend <b>', 'only this backend').choices(['cpu', 'webgpu', 'gpujs']))
  .option('--json', 'one JSON record per line')
  .option('--quick', 'small sizes, few samples')
  .option('--list', 'list suites')
  .action(async (suites: string[], opts) => {
    const args = [...suites];
    if (opts.backend) args.push('--backend', opts.backend);
    if (opts.json) args.push('--json');
    if (opts.quick) args.push('--quick');
    if (opts.list) args.push('--list');
    const { benchCommand } = await import('./commands/bench.js');
    process.exitCode = await benchCommand(args);
  });

program
  .command('reproduce')
  .description('recompute one stored row from its spec and diff the numbers (exit 1 if they differ)')
  .argument('<row-id>', 'cell id (or a unique prefix) as shown by `nq report`')
  .option('-r, --results <file...>', 'results files to look in (default: every results/*.jsonl)')
  .option('--tolerance <rel>', 'accepted relative difference (default 0: exact)', (v) => Number(v), 0)
  .action(async (rowId: string, opts) => {
    const { reproduceCommand } = await import('./commands/reproduce.js');
    process.exitCode = await reproduceCommand(rowId, { results: opts.results, tolerance: opts.tolerance });
  });

program
  .command('discover')
  .description('evolution-strategy search (@nq/es-search) for a structured rotation of one layer input')
  .requiredOption('--model <file>', 'checkpoint (.bin / .gguf / .safetensors)')
  .option('--data <file>', 'calibration text', '../shared/data/docs-calib.txt')
  .option('--tokenizer <file>', 'tokenizer (default: found beside the model)')
  .option('--layer <n>', 'layer index', (v) => Number(v), 0)
  .option('--input <group>', 'attn | o | ffn | down', 'down')
  .option('--target <t>', 'int8 | int4 | w4a4', 'w4a4')
  .option('--seed <n>', 'seed', (v) => Number(v), 0)
  .option('--population <n>', 'population size', (v) => Number(v))
  .option('--generations <n>', 'generations per restart', (v) => Number(v))
  .option('--windows <n>', 'calibration windows (half search, half held out)', (v) => Number(v), 8)
  .option('--ctx <n>', 'tokens per window', (v) => Number(v), 128)
  .option('--out <file>', 'write the best RotationSpec here (JSON)')
  .option('--json', 'one JSON object on stdout')
  .action(async (opts) => {
    const { discoverCommand } = await import('./commands/discover.js');
    process.exitCode = await discoverCommand(opts);
  });

program
  .command('landscape')
  .description(
    'run sweeps/landscape-pareto.yaml (resumable) and draw KLD/PPL vs bits per parameter with the Pareto front + its table',
  )
  .option('-s, --sweep <name>', 'sweep to run first', 'landscape-pareto')
  .option('-r, --results <file...>', 'also draw these results files')
  .option('-o, --out <dir>', 'folder for landscape.md and the SVGs (default apps/harness/docs)')
  .option('--no-run', 'draw only what is stored')
  .option('-q, --quick', 'CI-sized variant of the sweep (first seed, 1 window)')
  .action(async (opts) =>
    (await import('./commands/landscape.js'))
      .landscapeCommand({
        sweep: opts.sweep,
        results: opts.results,
        outDir: opts.out,
        noRun: opts.run === false,
        quick: !!opts.quick,
        shouldStop: installSigint(),
      })
      .then(() => undefined),
  );

program
  .command('fetch-model')
  .description('download a public GGUF / safetensors checkpoint (Hugging Face repo id or a URL)')
  .argument('<repo-or-url>', 'e.g. TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF or https://…/model.gguf')
  .option('-d, --dir <dir>', 'download folder (default: $NQ_MODELS or ~/.cache/nq/models)')
  .option('--include <glob>', 'only files matching this pattern (e.g. "*Q8_0.gguf")')
  .option('--revision <rev>', 'branch, tag or commit', 'main')
  .action(async (target: string, opts) => {
    const { fetchModelCommand } = await import('./commands/fetch-model.js');
    await fetchModelCommand(target, { dir: opts.dir, include: opts.include, revision: opts.revision });
  });

function intArg(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new NqInputError(
      name,
      `must be a non-negative integer, got ${JSON.stringify(v)}`,
      `Pass e.g. ${name} 4.`,
    );
  return n;
}

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof NqError) {
      process.stderr.write(`nq: ${e.name}: ${e.message}\n`);
      process.exitCode =
        e.code === 'NQ_INPUT' || e.code === 'NQ_FORMAT' ? 2 : e.code === 'NQ_UNSUPPORTED' ? 3 : 1;
    } else {
      process.stderr.write(`nq: ${(e as Error)?.stack ?? e}\n`);
      process.exitCode = 1;
    }
  }
}

await main();
