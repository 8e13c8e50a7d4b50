import type { RecipeSpec } from '@nq/eval-ppl';
import { fitRow, recipeByName } from '@nq/kquants';
import {
  type BitsCount,
  countModelBits,
  denseRotationBits,
  ggmlModelBits,
  gIdxBits,
  intTensorBits,
  type ModelShape,
  nvfp4TensorBits,
  roleTensorBits,
  signBits,
} from './model-bits.js';
import type { ModelMethod } from './model-methods.js';

/** Bits per parameter of a model-level recipe, and the width of its activations (32 = float32). */
export interface RecipeBits extends BitsCount {
  act_bits: number;
}

const ALL_INPUTS = ['attn', 'o', 'ffn', 'down'] as const;

/** An @nq/eval-ppl RecipeSpec: INT weights per row/group, its rotations, its activation width. */
export function evalRecipeBits(spec: RecipeSpec, s: ModelShape): RecipeBits {
  const w = spec.weights;
  let extra = 0;
  const r = spec.rotation;
  if (r?.kind === 'hadamard' || r?.kind === 'block-hadamard') extra += signBits(s, [...ALL_INPUTS]);
  else if (r?.kind === 'orthogonal') extra += denseRotationBits(s, [...ALL_INPUTS]);
  else if (r?.kind === 'adaptive') extra += (signBits(s, [...ALL_INPUTS]) * (s.nLayers - 1)) / s.nLayers;
  // QuaRot: R1 is fused into the weights (free); R4 before down_proj runs online (signs).
  if (spec.quarot) extra += signBits(s, ['down']);
  const b = countModelBits(
    s,
    (rows, cols) =>
      w
        ? intTensorBits(rows, cols, {
            bits: w.bits,
            group: w.granularity === 'group' ? (w.groupSize ?? 128) : null,
            symmetric: w.symmetric,
          })
        : rows * cols * 32,
    { extraLinearBits: extra },
  );
  return { ...b, act_bits: spec.activations ? spec.activations.bits : 32 };
}

/** TurboQuant storage per tensor: codes, a float32 per (row, group), fitted codebook, g-bit signs. */
export function turboquantBits(
  rows: number,
  cols: number,
  q: { bits: number; group: number; codebook: 'sphere' | 'fitted' },
): number {
  return (
    rows * cols * q.bits +
    rows * (cols / q.group) * 32 +
    (q.codebook === 'fitted' ? (1 << q.bits) * 32 : 0) +
    q.group
  );
}

/**
 * Bits of a catalog recipe on a model of shape `s`. `evalSpec` is the resolved @nq/eval-ppl spec
 * for 'eval' recipes (and for the eval recipe under a rescale prefix).
 */
export function methodBits(m: ModelMethod, s: ModelShape, evalSpec: RecipeSpec | null): RecipeBits {
  const b = m.base;
  const fp: RecipeBits = { ...countModelBits(s, (r, c) => r * c * 32), act_bits: 32 };
  switch (b.kind) {
    case 'eval':
      if (!evalSpec) throw new Error(`methodBits(${m.name}): the resolved eval-ppl spec is needed`);
      return evalRecipeBits(evalSpec, s);
    case 'int':
      return {
        ...countModelBits(
          s,
          (r, c) =>
            intTensorBits(r, c, { bits: b.bits, group: b.group, symmetric: false }) +
            gIdxBits(c, m.actOrder, b.group),
        ),
        act_bits: 32,
      };
    case 'quarot-gptq':
      return {
        ...countModelBits(s, (r, c) => intTensorBits(r, c, { bits: 4, group: null, symmetric: true }), {
          extraLinearBits: signBits(s, ['down']),
        }),
        act_bits: 4,
      };
    case 'codec': {
      // R1 (rh1/ro1/dfrot) is the residual rotation: fusable into the weights, 0 bits. o and down
      // inputs: a per-layer online random Hadamard (signs). AdaCodec: a block-orthogonal float32
      // encoder per layer for the attn and ffn inputs, applied online (block 64).
      let extra = 0;
      if (b.codec !== 'norot') extra += signBits(s, ['o', 'down']);
      if (b.codec === 'adacodec') extra += s.nLayers * 2 * s.dim * 64 * 32;
      return {
        ...countModelBits(
          s,
          (r, c) =>
            b.format === 'int4'
              ? intTensorBits(r, c, { bits: 4, group: null, symmetric: true })
              : nvfp4TensorBits(r, c),
          { extraLinearBits: extra },
        ),
        act_bits: b.format === 'int4' ? 4 : 4.5,
      };
    }
    case 'turboquant':
      return { ...countModelBits(s, (r, c) => turboquantBits(r, c, b)), act_bits: 32 };
    case 'kquant':
    case 'llamacpp-file': {
      const recipe = recipeByName(b.recipe);
      return {
        ...ggmlModelBits(s, (name, rows, cols) =>
          recipe.typeFor({ name, dims: [cols, rows], nLayers: s.nLayers, hasOutput: !s.tied }),
        ),
        act_bits: 32,
      };
    }
    case 'gguf-type': {
      const t = b.type.toUpperCase() as Parameters<typeof fitRow>[0];
      return { ...ggmlModelBits(s, (_n, _r, cols) => fitRow(t, cols)), act_bits: 32 };
    }
    case 'mixed':
      return {
        ...countModelBits(s, (r, c, _l, role) => roleTensorBits(r, c, b.roles[role] ?? b.rest)),
        act_bits: 32,
      };
    case 'kv':
      return fp;
  }
}
