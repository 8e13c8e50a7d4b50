import fs from 'node:fs';
import path from 'node:path';
import { NqInputError, NqUnsupportedError } from '@nq/core';
import { prepareRecipe, type RecipeSpec, recipeFromName, resolveRecipe } from '@nq/eval-ppl';
import { quantizeModelSequential } from '@nq/gptq';
import { dequantize, type KnownFormat, quantize, recipeByName } from '@nq/kquants';
import {
  cloneModel,
  type ForwardHooks,
  LAYER_TENSOR_NAMES,
  LINEAR_NAMES,
  type LoadedModel,
  loadModel,
  modelToGguf,
} from '@nq/model';
import { fakeQuant, type QuantSpec, quantizerFor } from '@nq/quant-fp';
import {
  awqSearch,
  collectInputStats,
  foldRescale,
  hessianDiagScales,
  INPUT_READERS,
  type LayerScales,
  RESCALE_INPUTS,
  smoothQuantScales,
} from '@nq/rescale';
import { buildCodecModel, buildPlan, captureInputs } from '@nq/rotation-opt';
import { quantizeModelTurboQuant } from '@nq/turboquant';
import type { BaseMethod, ModelMethod, RoleFormat } from './model-methods.js';

/*
 * Builds the candidate of a catalog recipe: a model (+ forward hooks) that @nq/eval-ppl's
 * scoreCandidate compares with the full-precision model. Every technique is called through its
 * package's public API; this file only composes them (rescale → weights method → hooks).
 */

export interface Candidate {
  model: LoadedModel;
  hooks: ForwardHooks | undefined;
  /** Facts worth storing with the row (AWQ exponents, calibration tokens, transforms, …). */
  info: Record<string, unknown>;
  /** Extra input files read (for provenance hashes). */
  files: string[];
}

export interface BuildContext {
  /** The full-precision model (never modified). */
  model: LoadedModel;
  /** Its file (to find llama.cpp's GGUF files beside it). */
  modelFile: string;
  seed: number;
  /** Calibration sequences of docs-calib for the method's `calib` (sampled by the caller). */
  calibration: () => Promise<Int32Array[]>;
}

const evalSpec = (name: string, seed: number): RecipeSpec => recipeFromName(name, seed);

const intSpec = (bits: number, group: number | null, symmetric = false): QuantSpec =>
  group === null
    ? { format: 'int', bits, granularity: 'token', symmetric }
    : { format: 'int', bits, granularity: 'group', groupSize: group, symmetric };

/** The eval-ppl RecipeSpec of INT asym RTN weights (eval-ppl's quantizer, same as w4a16-rtn-g128). */
function intRtnRecipe(name: string, bits: number, group: number | null): RecipeSpec {
  return resolveRecipe({
    version: 1,
    name,
    weights:
      group === null
        ? { bits, granularity: 'row', symmetric: false }
        : { bits, granularity: 'group', groupSize: group, symmetric: false },
    activations: null,
    rotation: null,
    quarot: null,
    kv: null,
  });
}

/** The weight quantizer AWQ's search measures: the recipe's INT weights, else INT4 asym g128. */
function awqWeightSpec(b: BaseMethod, seed: number): QuantSpec {
  if (b.kind === 'int') return intSpec(b.bits, b.group);
  if (b.kind === 'eval') {
    const w = evalSpec(b.recipe, seed).weights;
    if (w) return intSpec(w.bits, w.granularity === 'group' ? (w.groupSize ?? 128) : null, w.symmetric);
  }
  return intSpec(4, 128);
}

async function rescaled(
  m: ModelMethod,
  ctx: BuildContext,
  info: Record<string, unknown>,
): Promise<LoadedModel> {
  const r = m.rescale!;
  const base = ctx.model;
  const stats = collectInputStats(base, await ctx.calibration(), { keepRows: r.rule === 'awq' ? 2048 : 0 });
  const alphas: string[] = [];
  const scales: LayerScales[] = base.weights.layers.map((L, l) => {
    const out: LayerScales = {};
    for (const input of RESCALE_INPUTS) {
      const st = stats[l]![input];
      const readers = INPUT_READERS[input].map((n) => L[n]);
      if (r.rule === 'smoothquant') out[input] = smoothQuantScales(st.maxAbs, readers, r.alpha!);
      else if (r.rule === 'hdiag') out[input] = hessianDiagScales(st.meanSq, r.alpha!);
      else {
        const spec = awqWeightSpec(m.base, ctx.seed);
        const s = awqSearch(st.rows!, readers, st.meanAbs, { quantizeWeight: (w) => fakeQuant(w, spec) });
        out[input] = s.scales;
        alphas.push(`L${l}.${input}=${s.alpha}`);
      }
    }
    return out;
  });
  if (alphas.length) info.awq_alphas = alphas.join(' ');
  return foldRescale(base, scales);
}

function roleQuant(f: RoleFormat): (w: LoadedModel['weights']['layers'][number]['q']) => typeof w {
  if (f.kind === 'int') {
    const spec = intSpec(f.bits, 128);
    return (w) => fakeQuant(w, spec);
  }
  const t: KnownFormat = f.kind === 'f16' ? 'F16' : 'Q8_0';
  return (w) => ({ rows: w.rows, cols: w.cols, data: dequantize(t, quantize(t, w.data), w.data.length) });
}

/** Every tensor of `model` through llama.cpp's block formats (quantize + dequantize, @nq/kquants). */
function ggmlFakeQuant(
  model: LoadedModel,
  typing: { recipe: ReturnType<typeof recipeByName> } | { type: KnownFormat },
): { model: LoadedModel; types: Record<string, number> } {
  const m = cloneModel(model);
  const { tensors } = modelToGguf(model, { typing });
  const byName = new Map<string, Float32Array>();
  byName.set('token_embd.weight', m.weights.tokenEmbedding.data);
  byName.set('output.weight', m.weights.output.data);
  byName.set('output_norm.weight', m.weights.finalNorm);
  m.weights.layers.forEach((L, l) => {
    for (const [key, gname] of Object.entries(LAYER_TENSOR_NAMES)) {
      const v = L[key as keyof typeof L];
      byName.set(`blk.${l}.${gname}.weight`, v instanceof Float32Array ? v : v.data);
    }
  });
  const types: Record<string, number> = {};
  let tiedOut = true;
  for (const t of tensors) {
    const dst = byName.get(t.name);
    if (!dst)
      throw new NqUnsupportedError(`GGUF tensor ${t.name}`, 'Only llama-architecture tensors are mapped.');
    const n = t.dims.reduce((a, b) => a * b, 1);
    const type = t.type as KnownFormat;
    const bytes = typeof t.data === 'function' ? t.data() : t.data;
    dst.set(dequantize(type, bytes, n));
    types[type] = (types[type] ?? 0) + n;
    if (t.name === 'output.weight') tiedOut = false;
  }
  // A tied classifier reads the (quantized) embedding, as llama.cpp does.
  if (tiedOut) m.weights.output = { ...m.weights.output, data: m.weights.tokenEmbedding.data };
  return { model: m, types };
}

/** A KV-cache quantizer: each K/V row per head and token, b-bit symmetric (@nq/quant-fp INT per token). */
function kvHooks(side: 'k' | 'v' | 'kv', bits: number): ForwardHooks {
  const q = quantizerFor({ format: 'int', bits, granularity: 'token', symmetric: true }, 'kv');
  return {
    quantizeKv: (_l, kind, _h, _p, row) => {
      if (side !== 'kv' && side !== kind) return;
      row.set(q({ rows: 1, cols: row.length, data: row }).data);
    },
  };
}

async function buildBase(
  m: ModelMethod,
  base: LoadedModel,
  ctx: BuildContext,
  info: Record<string, unknown>,
  files: string[],
): Promise<{ model: LoadedModel; hooks: ForwardHooks | undefined }> {
  const b = m.base;
  const seed = ctx.seed;
  switch (b.kind) {
    case 'eval': {
      const p = prepareRecipe(base, evalSpec(b.recipe, seed));
      info.rotations = p.rotations.length;
      return { model: p.model, hooks: p.hooks };
    }
    case 'int': {
      if (b.method === 'rtn') {
        const p = prepareRecipe(base, intRtnRecipe(m.name, b.bits, b.group));
        return { model: p.model, hooks: p.hooks };
      }
      const q = await quantizeModelSequential(base, {
        scheme: intSpec(b.bits, b.group),
        calibration: await ctx.calibration(),
        dampPercent: 0.01,
        actOrder: m.actOrder,
      });
      info.proxy_loss = q.linears.reduce((s, l) => s + l.proxyLoss, 0);
      info.proxy_loss_rtn = q.linears.reduce((s, l) => s + l.rtnProxyLoss, 0);
      info.calibration_tokens = q.calibrationTokens;
      return { model: q.model, hooks: undefined };
    }
    case 'quarot-gptq': {
      // QuaRot's transform and A4 hooks from eval-ppl, weights by GPTQ on the transformed model.
      const prepared = prepareRecipe(base, { ...evalSpec('quarot-w4a4', seed), weights: null });
      const q = await quantizeModelSequential(prepared.model, {
        scheme: {
          format: 'int',
          bits: 4,
          granularity: 'token',
          symmetric: true,
          clipSearch: { grid: 100, maxShrink: 0.8, norm: 2.4 },
        },
        calibration: await ctx.calibration(),
        dampPercent: 0.01,
      });
      info.proxy_loss = q.linears.reduce((s, l) => s + l.proxyLoss, 0);
      info.proxy_loss_rtn = q.linears.reduce((s, l) => s + l.rtnProxyLoss, 0);
      return { model: q.model, hooks: prepared.hooks };
    }
    case 'codec': {
      const calib = await ctx.calibration();
      // The plan is fitted on the first ≤ 4 sequences (as @nq/rotation-opt's table); GPTQ uses all.
      const planCalib = calib.slice(0, 4);
      const captured = captureInputs(base, planCalib);
      const method =
        b.codec === 'norot' ? 'none' : b.codec === 'rh1' ? 'rh' : b.codec === 'ro1' ? 'ro' : b.codec;
      const { plan, report } = buildPlan(base, captured, {
        method,
        format: b.format,
        seed,
        dfrot: { iterations: 20 },
        adacodec: { iterations: 30, block: 64 },
      });
      info.plan_seconds = report.planSeconds;
      info.massive_tokens = report.massiveTokens;
      const c = buildCodecModel(base, plan, {
        activations: b.format,
        weights: b.weights,
        ...(b.weights === 'gptq' ? { calibration: calib } : {}),
      });
      return { model: c.model, hooks: c.hooks };
    }
    case 'turboquant': {
      const model = quantizeModelTurboQuant(base, {
        spec: { bits: b.bits, groupSize: b.group, seed, codebook: b.codebook, correction: b.correction },
        method: b.method,
        ...(b.method === 'gptq' ? { calibration: await ctx.calibration() } : {}),
        actOrder: m.actOrder,
      });
      return { model, hooks: undefined };
    }
    case 'kquant': {
      const r = ggmlFakeQuant(base, { recipe: recipeByName(b.recipe) });
      info.ggml_types = r.types;
      return { model: r.model, hooks: undefined };
    }
    case 'gguf-type': {
      const r = ggmlFakeQuant(base, { type: b.type.toUpperCase() as KnownFormat });
      info.ggml_types = r.types;
      return { model: r.model, hooks: undefined };
    }
    case 'llamacpp-file': {
      const stem = path.basename(ctx.modelFile).replace(/\.(bin|gguf|safetensors)$/, '');
      const file = path.join(path.dirname(ctx.modelFile), `${stem}.${b.recipe}.gguf`);
      if (!fs.existsSync(file))
        throw new NqInputError(
          'recipe',
          `'${m.name}' needs ${file} (a GGUF written by llama.cpp's llama-quantize beside the model)`,
          'Use a model that ships it (nq-docs-5M does), or the nq recipe q8_0 / q4_k_m.',
        );
      files.push(file);
      return { model: await loadModel(file), hooks: undefined };
    }
    case 'mixed': {
      const mm = cloneModel(base);
      for (const L of mm.weights.layers)
        for (const n of LINEAR_NAMES) L[n] = roleQuant(b.roles[n] ?? b.rest)(L[n]);
      return { model: mm, hooks: undefined };
    }
    case 'kv':
      return { model: base, hooks: kvHooks(b.side, b.bits) };
  }
}

/** The candidate model + hooks of a recipe (rescale folded first when the recipe has a prefix). */
export async function buildCandidate(m: ModelMethod, ctx: BuildContext): Promise<Candidate> {
  const info: Record<string, unknown> = {};
  const files: string[] = [];
  const base = m.rescale ? await rescaled(m, ctx, info) : ctx.model;
  const { model, hooks } = await buildBase(m, base, ctx, info, files);
  if (model.transforms?.length) info.transforms = model.transforms;
  return { model, hooks, info, files };
}
