import { isSupportedSize } from '@nq/hadamard';
import { z } from 'zod';
import { PROFILE_NAMES } from '../synthetic/profiles.js';
import {
  ACT_NAMES_HELP,
  parseQuant,
  parseRotation,
  parseWeight,
  ROTATION_NAMES_HELP,
  WEIGHT_NAMES_HELP,
} from '../techniques/catalog.js';

/**
 * The sweep file schema. A sweep is a grid: the kernel study crosses
 * data × rotations × act × weight × seeds; the model study crosses models × texts × recipes × seeds.
 * Every message says what is allowed, and the loader adds the field path and the value found.
 */

const nameRe = /^[a-z0-9][a-z0-9._-]*$/;

const rotationName = z
  .string()
  .refine((s) => parseRotation(s) !== null, { message: `allowed: ${ROTATION_NAMES_HELP}` });
const actName = z
  .string()
  .refine((s) => s === 'none' || parseQuant(s) !== null, { message: `allowed: ${ACT_NAMES_HELP}` });
const weightName = z
  .string()
  .refine((s) => s === 'none' || parseWeight(s) !== null, { message: `allowed: ${WEIGHT_NAMES_HELP}` });
const profileName = z
  .string()
  .refine((s) => PROFILE_NAMES.includes(s), { message: `allowed: ${PROFILE_NAMES.join(', ')}` });

const dim = (what: string, max: number) =>
  z
    .number({ message: `${what} must be a number` })
    .int({ message: `${what} must be an integer` })
    .min(1, { message: `${what} must be ≥ 1` })
    .max(max, { message: `${what} must be ≤ ${max}` });

export const KernelStudySchema = z.strictObject({
  data: z.array(profileName).min(1, { message: 'list at least one data profile' }),
  rotations: z.array(rotationName).min(1, { message: 'list at least one rotation (none counts)' }),
  act: z.array(actName).min(1, { message: 'list at least one activation quantizer (none counts)' }),
  weight: z.array(weightName).default(['none']),
  tokens: dim('tokens', 1 << 16).default(256),
  channels: dim('channels', 1 << 15)
    .refine(isSupportedSize, {
      message:
        'channels must be a Hadamard size @nq/hadamard supports (a power of two, or m·2^k such as 768 = 12·64)',
    })
    .default(1024),
  out: dim('out', 1 << 15).default(256),
});

export const TAP_NAMES = ['attn_in', 'ffn_in', 'o_in', 'down_in'] as const;

/** Real activations: every (layer, tap) of a model × rotations × act × weight × seeds. */
export const LayerStudySchema = z.strictObject({
  models: z.array(z.string().min(1)).min(1).default(['auto']),
  text: z.string().min(1).default('docs-valid'),
  /** Tokens per capture: BOS + the first tokens−1 of the text (64 = the ref.json prompt). */
  tokens: dim('tokens', 1 << 14).default(64),
  /** Layer indices, or omit for every layer. */
  layers: z.array(z.number().int().min(0)).min(1).optional(),
  taps: z
    .array(z.enum(TAP_NAMES))
    .min(1)
    .default([...TAP_NAMES]),
  rotations: z.array(rotationName).min(1, { message: 'list at least one rotation (none counts)' }),
  act: z.array(actName).min(1, { message: 'list at least one activation quantizer (none counts)' }),
  weight: z.array(weightName).default(['none']),
});

export const TEXT_NAMES = ['docs-valid', 'docs-calib', 'wikitext2-test', 'wikitext2-valid'] as const;

export const ModelStudySchema = z.strictObject({
  /** 'auto' = every model found under NQ_MODELS or ../shared/models (first by default: nq-docs-5M), or file paths. */
  models: z.array(z.string().min(1)).min(1).default(['auto']),
  texts: z
    .array(z.string().min(1))
    .min(1)
    .default(['docs-valid'])
    .refine((a) => a.every((t) => (TEXT_NAMES as readonly string[]).includes(t) || /\.txt$/.test(t)), {
      message: `allowed: ${TEXT_NAMES.join(', ')} or a path ending in .txt`,
    }),
  recipes: z
    .array(z.union([z.string().min(1), z.record(z.string(), z.unknown())]))
    .min(1, { message: 'list at least one recipe (e.g. fp)' }),
  ctx: dim('ctx', 1 << 16).default(256),
  windows: dim('windows', 1 << 20).default(4),
  stride: dim('stride', 1 << 16).optional(),
});

export const INPUT_NAMES = ['attn', 'o', 'ffn', 'down'] as const;
export const TARGET_NAMES = ['int8', 'int4', 'w4a4'] as const;
const textName = z
  .string()
  .min(1)
  .refine((t) => (TEXT_NAMES as readonly string[]).includes(t) || /\.txt$/.test(t), {
    message: `allowed: ${TEXT_NAMES.join(', ')} or a path ending in .txt`,
  });
const modelList = z.array(z.string().min(1)).min(1, { message: 'list at least one model (auto counts)' });

/**
 * ES discovery (@nq/es-search): models × layers × inputs × targets × seeds, one search per cell.
 * The calibration text's first `chars` characters are tokenized; the first half gives the search
 * rows, the second half the held-out rows (`windows` windows of `ctx` tokens each, then `tokens` /
 * `holdout_tokens` rows sampled with the cell's seed).
 */
export const DiscoverStudySchema = z.strictObject({
  models: modelList.default(['auto']),
  text: textName.default('docs-calib'),
  chars: dim('chars', 1 << 26).default(200_000),
  ctx: dim('ctx', 1 << 14).default(128),
  windows: dim('windows', 1 << 12).default(8),
  tokens: dim('tokens', 1 << 16).default(256),
  holdout_tokens: dim('holdout_tokens', 1 << 16).default(512),
  layers: z
    .array(z.number().int({ message: 'layers must be integers' }).min(0))
    .min(1)
    .default([0]),
  inputs: z
    .array(z.enum(INPUT_NAMES))
    .min(1, { message: 'list at least one input (attn, o, ffn, down)' })
    .default(['ffn']),
  targets: z
    .array(z.enum(TARGET_NAMES))
    .min(1, { message: 'list at least one target (int8, int4, w4a4)' })
    .default(['w4a4']),
  population: dim('population', 4096).default(16),
  generations: z
    .number({ message: 'generations must be a number' })
    .int({ message: 'generations must be an integer' })
    .min(0, { message: 'generations must be ≥ 0' })
    .max(10_000, { message: 'generations must be ≤ 10000' })
    .default(12),
  sign_generations: z
    .number()
    .int({ message: 'sign_generations must be an integer' })
    .min(0, { message: 'sign_generations must be ≥ 0' })
    .max(10_000)
    .default(0),
  restarts: dim('restarts', 64).default(1),
  alpha: z.number({ message: 'alpha must be a number' }).min(0, { message: 'alpha must be ≥ 0' }).default(1),
  beta: z.number({ message: 'beta must be a number' }).min(0, { message: 'beta must be ≥ 0' }).default(0),
  backend: z.enum(['cpu', 'webgpu']).default('cpu'),
  /** W4A4 KLD on a text with a random Hadamard on every input, the searched one given the found rotation. */
  model_check: z
    .strictObject({
      text: textName.default('docs-valid'),
      windows: dim('windows', 1 << 12).default(8),
      ctx: dim('ctx', 1 << 14).default(256),
    })
    .optional(),
});

/** @nq/geometry-correction's Q1/Q2 study: models × seeds, one `runSetting` per cell. */
export const GeometryStudySchema = z.strictObject({
  models: modelList.default(['auto']),
  text: textName.default('docs-calib'),
  recipe: z.string().min(1).default('w4a4-rtn-token'),
  windows: dim('windows', 1 << 12).default(16),
  window_length: dim('window_length', 1 << 14).default(128),
  held_out_windows: dim('held_out_windows', 1 << 12).default(4),
  folds: dim('folds', 64).default(4),
  corrector_iterations: dim('corrector_iterations', 100_000).default(200),
});

const selector = z.record(z.string(), z.union([z.string(), z.array(z.string()).min(1)]));

/** How the report judges the hypothesis: treatment vs baseline on one metric, matched on all other axes. */
export const VerdictSchema = z.strictObject({
  metric: z.string().min(1),
  better: z.enum(['lower', 'higher']).default('lower'),
  baseline: selector,
  treatment: selector,
  /** Restrict the comparison to rows whose labels match. */
  where: selector.optional(),
  /** Relative improvement needed to count as support (0.05 = 5%). */
  min_effect: z.number().min(0).max(10).default(0.05),
});

/** A further verdict on the same rows, shown in the registry as `<sweep>/<name>`. */
export const CheckSchema = VerdictSchema.extend({
  name: z.string().regex(nameRe, { message: 'a check name is lower-case letters, digits, ".", "_" or "-"' }),
  hypothesis: z.string().min(10, { message: 'state the hypothesis in a sentence' }),
});

export const SweepSchema = z
  .strictObject({
    name: z.string().regex(nameRe, {
      message: 'name must be lower-case letters, digits, ".", "_" or "-" (it names results/<name>.jsonl)',
    }),
    description: z.string().optional(),
    /** experiment: has a hypothesis judged by `verdict`; baseline: reference numbers, no verdict. */
    kind: z.enum(['experiment', 'baseline']).default('experiment'),
    hypothesis: z.string().min(10, { message: 'state the hypothesis in a sentence' }).optional(),
    verdict: VerdictSchema.optional(),
    seeds: z
      .array(
        z
          .number()
          .int({ message: 'seeds must be integers' })
          .min(0, { message: 'seeds must be ≥ 0' })
          .max(Number.MAX_SAFE_INTEGER),
      )
      .min(1, { message: 'list at least one seed' })
      .default([0]),
    kernel: KernelStudySchema.optional(),
    layers: LayerStudySchema.optional(),
    model: ModelStudySchema.optional(),
    discover: DiscoverStudySchema.optional(),
    geometry: GeometryStudySchema.optional(),
    /** Further hypotheses judged on the same rows (e.g. the model-level check of a discovery). */
    checks: z.array(CheckSchema).optional(),
  })
  .superRefine((s, ctx) => {
    if (!s.kernel && !s.model && !s.layers && !s.discover && !s.geometry)
      ctx.addIssue({
        code: 'custom',
        path: ['kernel'],
        message:
          'a sweep needs a kernel, layers or model study (or several), or a discover or geometry study',
      });
    if (s.discover) {
      const d = s.discover;
      if (d.windows * d.ctx * 4 > d.chars)
        ctx.addIssue({
          code: 'custom',
          path: ['discover', 'chars'],
          message: `${d.chars} characters cannot hold 2 halves of windows × ctx = ${d.windows} × ${d.ctx} tokens (≈ 4 characters per token): raise chars or lower windows/ctx`,
        });
      if (d.generations + d.sign_generations === 0)
        ctx.addIssue({
          code: 'custom',
          path: ['discover', 'generations'],
          message: 'generations and sign_generations are both 0: nothing would be searched',
        });
    }
    if (s.geometry && s.geometry.held_out_windows + s.geometry.folds > s.geometry.windows)
      ctx.addIssue({
        code: 'custom',
        path: ['geometry', 'held_out_windows'],
        message: `held_out_windows (${s.geometry.held_out_windows}) + folds (${s.geometry.folds}) must be ≤ windows (${s.geometry.windows}): every fold needs a training window`,
      });
    for (const [i, c] of (s.checks ?? []).entries())
      if ((s.checks ?? []).findIndex((x) => x.name === c.name) !== i)
        ctx.addIssue({
          code: 'custom',
          path: ['checks', i, 'name'],
          message: 'check names must be distinct',
        });
    if (s.kind === 'experiment' && s.verdict && !s.hypothesis) {
      ctx.addIssue({
        code: 'custom',
        path: ['hypothesis'],
        message: 'a verdict judges a hypothesis: add `hypothesis:`',
      });
    }
    if (new Set(s.seeds).size !== s.seeds.length)
      ctx.addIssue({ code: 'custom', path: ['seeds'], message: 'seeds must be distinct' });
    if (s.kernel) {
      for (const [i, r] of s.kernel.rotations.entries()) {
        const d = parseRotation(r);
        if (
          d?.kind === 'block-hadamard' &&
          (d.block > s.kernel.channels || s.kernel.channels % d.block !== 0)
        ) {
          ctx.addIssue({
            code: 'custom',
            path: ['kernel', 'rotations', i],
            message: `block ${d.block} does not divide channels (${s.kernel.channels}); use a block that divides it`,
          });
        }
      }
    }
  });

export type Sweep = z.infer<typeof SweepSchema>;
export type KernelStudy = z.infer<typeof KernelStudySchema>;
export type ModelStudy = z.infer<typeof ModelStudySchema>;
export type LayerStudy = z.infer<typeof LayerStudySchema>;
export type Verdict = z.infer<typeof VerdictSchema>;
export type DiscoverStudy = z.infer<typeof DiscoverStudySchema>;
export type GeometryStudy = z.infer<typeof GeometryStudySchema>;
export type Check = z.infer<typeof CheckSchema>;
