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
  })
  .superRefine((s, ctx) => {
    if (!s.kernel && !s.model && !s.layers)
      ctx.addIssue({
        code: 'custom',
        path: ['kernel'],
        message: 'a sweep needs a kernel, layers or model study (or several)',
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
