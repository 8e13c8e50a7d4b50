import fs from 'node:fs';
import path from 'node:path';
import {
  buildReference,
  type CandidateScore,
  type EvalProgress,
  type EvalResult,
  evaluate,
  type ModelReference,
  type RecipeSpec,
  recipeFromName,
  resolveRecipe,
} from '@nq/eval-ppl';
import { sampleCalibration } from '@nq/gptq';
import { type LoadedModel, loadModel, Tokenizer } from '@nq/model';
import type { ModelCell } from '../sweep/cell.js';
import type { ModelShape } from '../techniques/model-bits.js';
import { type BuildContext, buildCandidate } from '../techniques/model-build.js';
import { type ModelMethod, parseModelRecipe } from '../techniques/model-methods.js';
import { evalRecipeBits, methodBits } from '../techniques/recipe-bits.js';
import { resolvePortable, sharedDir, tokenizerBeside } from '../util/paths.js';
import type { CellOutcome } from './kernel-study.js';

/** A model cell's outcome, with labels the row adds to the cell's own (e.g. `format`). */
export type ModelOutcome = CellOutcome & { labels?: Record<string, string> };

/** Bits per weight/activation element of an eval-ppl recipe (16 for full precision), kept for old plots. */
export function recipeBits(spec: RecipeSpec): { wbits: number; abits: number } {
  const w = spec.weights
    ? spec.weights.bits + (spec.weights.granularity === 'group' ? 32 / (spec.weights.groupSize ?? 128) : 0)
    : 16;
  const a = spec.activations ? spec.activations.bits : 16;
  return { wbits: w, abits: a };
}

const evalCheck = (name: string) => {
  recipeFromName(name, 0);
};

/**
 * The catalog method of a recipe name, or null for a JSON recipe spec (evaluated by eval-ppl as is).
 * Throws NqInputError (naming the recipe and listing the grammar) for unknown names.
 */
export function modelMethodOf(recipe: string | Record<string, unknown>): ModelMethod | null {
  if (typeof recipe !== 'string' || recipe.trim().startsWith('{')) return null;
  return parseModelRecipe(recipe, evalCheck);
}

/** Validates a recipe (name or JSON) early, so a bad sweep fails before any cell runs. */
export function checkRecipe(recipe: string | Record<string, unknown>, seed = 0): void {
  const m = modelMethodOf(recipe);
  if (!m) resolveRecipe(recipe as string | RecipeSpec, seed);
}

/** Plain eval-ppl recipes (no rescale, no catalog method) run through evaluate() as before. */
const isPlainEval = (m: ModelMethod | null) => !m || (m.base.kind === 'eval' && !m.rescale);

// ---------------------------------------------------------------------------------------------
// Per-process caches: the model, the tokens, the FP reference and calibration sequences are shared
// by every cell of a sweep on the same model/text/protocol.

const models = new Map<string, Promise<LoadedModel>>();
const tokenCache = new Map<string, Promise<Int32Array>>();
const references = new Map<string, ModelReference>();
const calibrations = new Map<string, Promise<Int32Array[]>>();

function getModel(file: string): Promise<LoadedModel> {
  let p = models.get(file);
  if (!p) {
    p = loadModel(file);
    models.set(file, p);
  }
  return p;
}

async function getTokenizer(model: string): Promise<Tokenizer> {
  const tok = tokenizerBeside(model);
  if (!tok) throw new Error(`no tokenizer beside ${model}`);
  return Tokenizer.fromFile(tok);
}

function getTokens(model: string, text: string): Promise<Int32Array> {
  const key = `${model}\n${text}`;
  let p = tokenCache.get(key);
  if (!p) {
    p = getTokenizer(model).then((t) => Int32Array.from(t.encode(fs.readFileSync(text, 'utf8'))));
    tokenCache.set(key, p);
  }
  return p;
}

export function calibrationText(): string {
  return path.join(sharedDir(), 'data', 'docs-calib.txt');
}

function getCalibration(model: string, seed: number, sequences: number, ctx: number): Promise<Int32Array[]> {
  const key = `${model}\n${seed}\n${sequences}\n${ctx}`;
  let p = calibrations.get(key);
  if (!p) {
    p = getTokenizer(model).then((tokenizer) =>
      sampleCalibration({ text: calibrationText(), tokenizer, sequences, ctx, seed }),
    );
    calibrations.set(key, p);
  }
  return p;
}

export function modelShape(m: LoadedModel): ModelShape {
  const c = m.config;
  const w = m.weights;
  let tied = w.output.data === w.tokenEmbedding.data;
  if (!tied && w.output.data.length === w.tokenEmbedding.data.length) {
    tied = true;
    for (let i = 0; i < w.output.data.length && tied; i++)
      if (w.output.data[i] !== w.tokenEmbedding.data[i]) tied = false;
  }
  return {
    dim: c.dim,
    hiddenDim: c.hiddenDim,
    nLayers: c.nLayers,
    nHeads: c.nHeads,
    nKvHeads: c.nKvHeads,
    vocabSize: c.vocabSize,
    tied,
  };
}

/** Mean KLD over quarters of the window positions (positions 1..ctx−1 are scored per window). */
function kldByPosition(s: CandidateScore, ctx: number): Record<string, number> {
  const per = ctx - 1;
  if (s.kldPerToken.length % per !== 0) return {};
  const q = [0, 0, 0, 0];
  const n = [0, 0, 0, 0];
  for (let i = 0; i < s.kldPerToken.length; i++) {
    const pos = 1 + (i % per);
    const b = Math.min(3, Math.floor((4 * pos) / ctx));
    q[b]! += s.kldPerToken[i];
    n[b]!++;
  }
  const out: Record<string, number> = {};
  for (let b = 0; b < 4; b++) out[`kld_pos_q${b + 1}`] = n[b]! ? q[b]! / n[b]! : Number.NaN;
  return out;
}

/**
 * One model-level cell. Plain @nq/eval-ppl recipes run through evaluate() (PPL, KLD / top-1 against
 * the full-precision model on the same windows; reference log-probs cached on disk). Every other
 * catalog recipe builds its candidate through the technique packages (techniques/model-build.ts)
 * and is scored by eval-ppl's scoreCandidate against the FP reference on the same windows (windows
 * cut as evaluate() cuts them: the first `windows` non-overlapping windows of `ctx`).
 */
export async function runModelCell(
  cell: ModelCell,
  onProgress?: (p: EvalProgress) => void,
): Promise<ModelOutcome> {
  const model = resolvePortable(cell.model);
  const text = resolvePortable(cell.text);
  const method = modelMethodOf(cell.recipe);
  const tok = tokenizerBeside(model);
  const labels = method ? { format: method.format } : undefined;
  if (isPlainEval(method)) {
    const recipe = typeof cell.recipe === 'string' ? cell.recipe : (cell.recipe as unknown as RecipeSpec);
    const r: EvalResult = await evaluate({
      model,
      text,
      recipe,
      ctx: cell.ctx,
      ...(cell.stride !== undefined ? { stride: cell.stride } : {}),
      windows: cell.windows,
      seed: cell.seed,
      ...(onProgress ? { onProgress } : {}),
    });
    const bits = recipeBits(r.spec);
    const honest = evalRecipeBits(r.spec, modelShape(await getModel(model)));
    return {
      metrics: {
        ppl: r.ppl,
        ppl_se: r.ppl_se,
        ppl_base: r.ppl_base,
        ppl_delta: r.ppl - r.ppl_base,
        kld_mean: r.kld_mean,
        kld_se: r.kld_se,
        kld_median: r.kld_median,
        kld_p99: r.kld_p99,
        kld_max: r.kld_max,
        top1: r.top1,
        top1_se: r.top1_se,
        windows: r.windows,
        tokens_scored: r.tokens_scored,
        wbits: bits.wbits,
        abits: bits.abits,
        bits: Math.max(bits.wbits, bits.abits),
        ...honest,
      },
      extra: {
        recipe: r.spec,
        kld_method: r.kld_method,
        rotations: r.provenance.rotations,
        reference_cached: r.reference.cached,
      },
      timings: {
        total_ms: r.seconds * 1000,
        candidate_ms: r.candidate_seconds * 1000,
        reference_ms: r.reference.seconds * 1000,
      },
      seeds: { rotation: cell.seed },
      files: [model, text, ...(tok ? [tok] : [])],
      backend: 'cpu',
      ...(labels ? { labels } : {}),
    };
  }
  return runCatalogCell(cell, method!, model, text);
}

async function runCatalogCell(
  cell: ModelCell,
  method: ModelMethod,
  model: string,
  text: string,
): Promise<ModelOutcome> {
  const t0 = performance.now();
  const fp = await getModel(model);
  const tokens = await getTokens(model, text);
  const refKey = JSON.stringify([model, text, cell.ctx, cell.stride ?? null, cell.windows]);
  let reference = references.get(refKey);
  const tRef = performance.now();
  if (!reference) {
    reference = buildReference(fp, tokens, {
      ctx: cell.ctx,
      ...(cell.stride !== undefined ? { stride: cell.stride } : {}),
      windows: cell.windows,
      select: 'first',
    });
    references.set(refKey, reference);
  }
  const refMs = performance.now() - tRef;
  const calib = method.calib;
  const ctx: BuildContext = {
    model: fp,
    modelFile: model,
    seed: cell.seed,
    calibration: () =>
      calib
        ? getCalibration(model, cell.seed, calib.sequences, calib.ctx)
        : Promise.reject(new Error(`${method.name} does not calibrate`)),
  };
  const tBuild = performance.now();
  const cand = await buildCandidate(method, ctx);
  const buildMs = performance.now() - tBuild;
  const { scoreCandidate } = await import('@nq/eval-ppl');
  const s = scoreCandidate(reference, cand.model, cand.hooks);
  const evalSpec =
    method.base.kind === 'eval' ? resolveRecipe(method.base.recipe, cell.seed) : (null as RecipeSpec | null);
  const bits = methodBits(method, modelShape(fp), evalSpec);
  const tok = tokenizerBeside(model);
  return {
    metrics: {
      ppl: s.ppl,
      ppl_se: s.ppl_se,
      ppl_base: s.ppl_base,
      ppl_delta: s.ppl - s.ppl_base,
      kld_mean: s.kld_mean,
      kld_se: s.kld_se,
      kld_median: s.kld_median,
      kld_p99: s.kld_p99,
      kld_max: s.kld_max,
      top1: s.top1,
      top1_se: s.top1_se,
      windows: s.windows,
      tokens_scored: s.tokens_scored,
      ...bits,
      ...(method.base.kind === 'kv' && cell.stride === undefined ? kldByPosition(s, cell.ctx) : {}),
    },
    extra: { method, kld_method: s.kld_method, ...cand.info },
    timings: {
      total_ms: performance.now() - t0,
      reference_ms: refMs,
      build_ms: buildMs,
      candidate_ms: s.seconds * 1000,
    },
    seeds: { rotation: cell.seed, ...(calib ? { calibration: cell.seed } : {}) },
    files: [model, text, ...(tok ? [tok] : []), ...(calib ? [calibrationText()] : []), ...cand.files],
    backend: 'cpu',
    labels: { format: method.format },
  };
}
