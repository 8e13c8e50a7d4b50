import fs from 'node:fs';
import { NqInputError } from '@nq/core';
import {
  captureLayerData,
  type DiscoverResult,
  discover,
  INPUT_GROUPS,
  type InputGroup,
} from '@nq/es-search';
import { loadModel, Tokenizer } from '@nq/model';
import { tokenizerBeside } from '../util/paths.js';
import { requireFile } from '../util/require-file.js';

export interface DiscoverCliOptions {
  model: string;
  data: string;
  tokenizer?: string;
  layer: number;
  input: string;
  target: string;
  seed: number;
  population?: number;
  generations?: number;
  windows: number;
  ctx: number;
  out?: string;
  json?: boolean;
}

const TARGETS = ['int8', 'int4', 'w4a4'] as const;

/**
 * `nq discover`: evolution-strategy search (@nq/es-search) for a structured rotation of one linear
 * input of a real model. Activations come from the calibration text: the first half of the windows
 * is the search set, the second half the held-out set. Prints the comparison against identity, full
 * random Hadamard and block-128 random Hadamard, and writes the best RotationSpec as JSON.
 */
export async function discoverCommand(o: DiscoverCliOptions): Promise<number> {
  requireFile('--model', o.model, 'Pass a .bin / .gguf / .safetensors checkpoint.');
  requireFile('--data', o.data, 'Pass a UTF-8 calibration text (e.g. ../shared/data/docs-calib.txt).');
  if (!TARGETS.includes(o.target as (typeof TARGETS)[number]))
    throw new NqInputError('--target', `is "${o.target}"`, `Use one of ${TARGETS.join(', ')}.`);
  if (!INPUT_GROUPS.includes(o.input as InputGroup))
    throw new NqInputError('--input', `is "${o.input}"`, `Use one of ${INPUT_GROUPS.join(', ')}.`);
  if (!Number.isInteger(o.windows) || o.windows < 2)
    throw new NqInputError(
      '--windows',
      `is ${o.windows}`,
      'Use an integer ≥ 2 (half search, half held out).',
    );
  const tokPath = o.tokenizer ?? tokenizerBeside(o.model);
  if (!tokPath)
    throw new NqInputError(
      '--tokenizer',
      'was not given and none was found beside the model',
      'Pass --tokenizer <tokenizer.model>.',
    );

  const model = await loadModel(o.model);
  if (!Number.isInteger(o.layer) || o.layer < 0 || o.layer >= model.config.nLayers)
    throw new NqInputError('--layer', `is ${o.layer}`, `Use 0..${model.config.nLayers - 1}.`);
  const tokenizer = await Tokenizer.fromFile(tokPath);
  const tokens = tokenizer.encode(fs.readFileSync(o.data, 'utf8'));
  const half = Math.floor(tokens.length / 2);
  const pick = (ids: ArrayLike<number>) =>
    captureLayerData(model, ids, { ctx: o.ctx, windows: Math.max(1, Math.floor(o.windows / 2)) }).find(
      (c) => c.layer === o.layer && c.group === o.input,
    )!;
  const search = pick(tokens.subarray(0, half));
  const holdout = pick(tokens.subarray(half));
  const name = `L${o.layer}.${o.input}`;
  const started = Date.now();
  const result: DiscoverResult = await discover(
    {
      data: { ...search, name },
      holdout: { ...holdout, name: `${name}-holdout` },
      target: o.target as (typeof TARGETS)[number],
      seed: o.seed,
      ...(o.population !== undefined ? { population: o.population } : {}),
      ...(o.generations !== undefined ? { generations: o.generations } : {}),
      latency: { mode: 'none' },
    },
    (p) => {
      if (!o.json)
        process.stderr.write(
          `\rdiscover ${name} ${o.target}: generation ${p.record.generation} best ${p.record.best.toExponential(4)} ` +
            `(${((Date.now() - started) / 1000).toFixed(0)} s)   `,
        );
    },
  );
  if (!o.json) process.stderr.write('\n');
  if (o.out) fs.writeFileSync(o.out, `${JSON.stringify(result.best, null, 2)}\n`);
  if (o.json) {
    process.stdout.write(
      `${JSON.stringify({ layer: o.layer, input: o.input, target: o.target, seed: o.seed, evaluations: result.evaluations, seconds: result.wallSeconds, bestError: result.bestError, comparison: result.comparison, best: result.best })}\n`,
    );
    return 0;
  }
  console.log(
    `${name} (${search.x.rows} search tokens, ${holdout.x.rows} held out), target ${o.target}, seed ${o.seed}:`,
  );
  console.log('| rotation | structure | error (search) | error (held out) |');
  console.log('|---|---|---|---|');
  for (const r of result.comparison)
    console.log(
      `| ${r.name} | ${r.structure} | ${r.error.toExponential(4)} | ${r.holdoutError?.toExponential(4) ?? '–'} |`,
    );
  console.log(
    `${result.evaluations} evaluations in ${result.wallSeconds.toFixed(1)} s${o.out ? `; best spec written to ${o.out}` : ''}`,
  );
  return 0;
}
