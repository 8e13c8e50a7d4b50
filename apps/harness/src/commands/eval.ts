import fs from 'node:fs';
import { NqInputError } from '@nq/core';
import { evaluate } from '@nq/eval-ppl';
import { SingleBar } from 'cli-progress';
import { requireFile } from '../util/require-file.js';

export interface EvalOptions {
  model: string;
  data: string;
  recipe: string;
  ctx: number;
  stride?: number;
  windows?: number;
  seed: number;
  json?: boolean;
  /** Where the forward passes run: 'cpu' (default) or 'webgpu' (@nq/eval-ppl's GPU path). */
  backend?: string;
}

/**
 * `nq eval --model <file> --data <text> --recipe <name|json> [--ctx 256] [--stride N] [--windows N]
 * [--seed N] [--backend cpu|webgpu] [--json]` — flags as issue 7 defines them; the evaluation is
 * @nq/eval-ppl's (on the GPU with --backend webgpu).
 */
export async function evalCommand(o: EvalOptions): Promise<number> {
  requireFile(
    '--model',
    o.model,
    'Pass a .bin / .gguf / .safetensors checkpoint (e.g. ../shared/models/nq-docs-5M/nq-docs-5M.bin).',
  );
  requireFile('--data', o.data, 'Pass a UTF-8 text file (e.g. ../shared/data/wikitext2-test.txt).');
  if (o.ctx < 2) throw new NqInputError('--ctx', `must be ≥ 2, got ${o.ctx}`, 'Use e.g. --ctx 256.');
  if (o.stride !== undefined && (o.stride < 1 || o.stride > o.ctx))
    throw new NqInputError(
      '--stride',
      `must be in 1..ctx (${o.ctx}), got ${o.stride}`,
      'Use e.g. --stride 128.',
    );
  const backend = o.backend ?? 'cpu';
  if (backend !== 'cpu' && backend !== 'webgpu')
    throw new NqInputError(
      '--backend',
      `must be cpu or webgpu, got ${backend}`,
      'Use --backend webgpu or omit it.',
    );
  const recipe =
    fs.existsSync(o.recipe) && /\.json$/i.test(o.recipe) ? fs.readFileSync(o.recipe, 'utf8') : o.recipe;
  const bar = process.stderr.isTTY
    ? new SingleBar({
        stream: process.stderr,
        format: '{phase} [{bar}] {value}/{total} windows | {rate} tok/s | ETA {eta_formatted}',
        hideCursor: true,
      })
    : null;
  let phase = '';
  const r = await evaluate({
    model: o.model,
    text: o.data,
    recipe,
    ctx: o.ctx,
    ...(o.stride !== undefined ? { stride: o.stride } : {}),
    ...(o.windows !== undefined ? { windows: o.windows } : {}),
    seed: o.seed,
    backend,
    onProgress: (p) => {
      if (!bar) return;
      if (p.phase !== phase) {
        if (phase) bar.stop();
        phase = p.phase;
        bar.start(p.windowsTotal, 0, { phase, rate: '' });
      }
      bar.update(p.windowsDone, { phase, rate: p.tokensPerSecond.toFixed(0) });
    },
  });
  bar?.stop();
  if (o.json) {
    const { report: _r, report_text: _t, ...flat } = r;
    process.stdout.write(`${JSON.stringify(flat)}\n`);
  } else {
    process.stdout.write(`${r.report_text}\n`);
    process.stdout.write(
      `recipe ${r.recipe}: PPL ${r.ppl.toFixed(4)} ± ${r.ppl_se.toFixed(4)} (base ${r.ppl_base.toFixed(4)}), KLD ${r.kld_mean.toExponential(3)} ± ${r.kld_se.toExponential(2)}, ` +
        `top-1 ${(100 * r.top1).toFixed(2)}%, ${r.windows} windows, ${r.tokens_scored} tokens scored, ${r.seconds.toFixed(1)} s` +
        ` on ${r.backend}${r.device ? ` (${r.device})` : ''}\n`,
    );
  }
  return 0;
}
