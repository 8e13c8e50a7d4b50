import { recipeFromName } from '@nq/eval-ppl';
import { q4_k_m, recipeBitsPerParameter } from '@nq/kquants';
import { intWeightBits } from '@nq/rescale';
import { turboquantTensorBits } from '@nq/turboquant';
import { describe, expect, it } from 'vitest';
import { quantizerBitsPerElement } from '../src/techniques/kernel-bits.js';
import {
  GGML_BITS_PER_WEIGHT,
  intTensorBits,
  keptParams,
  linearParams,
  type ModelShape,
} from '../src/techniques/model-bits.js';
import { parseModelRecipe } from '../src/techniques/model-methods.js';
import { evalRecipeBits, methodBits, turboquantBits } from '../src/techniques/recipe-bits.js';

// nq-docs-5M's shape (config.json): dim 256, hidden 768, 4 layers, 8 heads, 2 KV heads, vocab 4096, untied.
const S: ModelShape = {
  dim: 256,
  hiddenDim: 768,
  nLayers: 4,
  nHeads: 8,
  nKvHeads: 2,
  vocabSize: 4096,
  tied: false,
};
// Hand counts from config.json: per layer q 256², k/v 64×256, o 256², gate/up/down 768×256.
const LIN = 4 * (2 * 256 * 256 + 2 * 64 * 256 + 3 * 768 * 256);
const KEPT = 2 * 4096 * 256 + 256 * 9;

describe('bits per parameter: hand counts from the definitions', () => {
  it('parameter counts of nq-docs-5M', () => {
    expect(linearParams(S)).toBe(LIN);
    expect(LIN).toBe(3_014_656);
    expect(keptParams(S)).toBe(KEPT);
  });

  it('INT weights: g128 asym INT4 = 4.25 with f16 scale + f16 zero, 4.28125 with f32 scale + 4-bit zero', () => {
    expect(
      intTensorBits(256, 768, { bits: 4, group: 128, symmetric: false, scaleBits: 16, zeroBits: 16 }) /
        (256 * 768),
    ).toBe(4.25);
    expect(intTensorBits(256, 768, { bits: 4, group: 128, symmetric: false }) / (256 * 768)).toBe(4.28125);
    // per-row symmetric INT4 on 256 columns: 4 + 32/256
    expect(intTensorBits(64, 256, { bits: 4, group: null, symmetric: true }) / (64 * 256)).toBe(4.125);
    // the same convention as @nq/rescale's intWeightBits
    expect(intTensorBits(256, 768, { bits: 3, group: 128, symmetric: false })).toBe(
      intWeightBits(256, 768, {
        format: 'int',
        bits: 3,
        granularity: 'group',
        groupSize: 128,
        symmetric: false,
      }),
    );
  });

  it('llama.cpp block formats: Q8_0 = 8.5, Q4_K = 4.5, Q6_K = 6.5625 bits/weight', () => {
    expect(GGML_BITS_PER_WEIGHT.Q8_0).toBe(8.5); // f16 d + 32 × int8 = 34 bytes / 32
    expect(GGML_BITS_PER_WEIGHT.Q4_K).toBe(4.5); // 144 bytes / 256
    expect(GGML_BITS_PER_WEIGHT.Q6_K).toBe(6.5625); // 210 bytes / 256
  });

  it('q8_0 recipe: every 2-D tensor 8.5 bits, norms f32', () => {
    const b = methodBits(parseModelRecipe('q8_0'), S, null);
    expect(b.linear_bits_per_param).toBe(8.5);
    expect(b.bits_per_param).toBeCloseTo((8.5 * (LIN + 2 * 4096 * 256) + 32 * 256 * 9) / (LIN + KEPT), 12);
  });

  it('q4_k_m recipe: equals @nq/kquants recipeBitsPerParameter over the same tensors', () => {
    const tensors = [
      { name: 'token_embd.weight', dims: [256, 4096], nLayers: 4 },
      { name: 'output.weight', dims: [256, 4096], nLayers: 4 },
      { name: 'output_norm.weight', dims: [256], nLayers: 4 },
      ...[0, 1, 2, 3].flatMap((l) => [
        { name: `blk.${l}.attn_norm.weight`, dims: [256], nLayers: 4 },
        { name: `blk.${l}.ffn_norm.weight`, dims: [256], nLayers: 4 },
        { name: `blk.${l}.attn_q.weight`, dims: [256, 256], nLayers: 4 },
        { name: `blk.${l}.attn_k.weight`, dims: [256, 64], nLayers: 4 },
        { name: `blk.${l}.attn_v.weight`, dims: [256, 64], nLayers: 4 },
        { name: `blk.${l}.attn_output.weight`, dims: [256, 256], nLayers: 4 },
        { name: `blk.${l}.ffn_gate.weight`, dims: [256, 768], nLayers: 4 },
        { name: `blk.${l}.ffn_up.weight`, dims: [256, 768], nLayers: 4 },
        { name: `blk.${l}.ffn_down.weight`, dims: [768, 256], nLayers: 4 },
      ]),
    ];
    const ref = recipeBitsPerParameter(q4_k_m, tensors);
    const b = methodBits(parseModelRecipe('q4_k_m'), S, null);
    expect(b.bits_per_param).toBeCloseTo(ref.bitsPerParameter, 12);
    // The type rule itself is @nq/kquants' (tested there against llama.cpp's files); here the
    // linear figure must lie between all-Q4_K and all-Q6_K.
    expect(b.linear_bits_per_param).toBeGreaterThan(4.5);
    expect(b.linear_bits_per_param).toBeLessThan(6.5625);
  });

  it('eval-ppl recipes: w4a16-rtn-g128 4.28125, had-w4a4 adds one sign bit per input channel per rotation', () => {
    const g = evalRecipeBits(recipeFromName('w4a16-rtn-g128'), S);
    expect(g.linear_bits_per_param).toBe(4.28125);
    expect(g.act_bits).toBe(32);
    expect(g.bits_per_param).toBeCloseTo((4.28125 * LIN + 32 * KEPT) / (LIN + KEPT), 12);
    const h = evalRecipeBits(recipeFromName('had-w4a4'), S);
    // per-row symmetric INT4: rows scales of 32 bits over cols (256 or 768) + signs 4 × (256·3 + 768)
    let lin = 0;
    for (const [r, c] of [
      [256, 256],
      [64, 256],
      [64, 256],
      [256, 256],
      [768, 256],
      [768, 256],
      [256, 768],
    ])
      lin += r! * c! * 4 + r! * 32;
    lin = 4 * lin + 4 * (3 * 256 + 768);
    expect(h.linear_bits_per_param).toBeCloseTo(lin / LIN, 12);
    expect(h.act_bits).toBe(4);
    expect(evalRecipeBits(recipeFromName('fp'), S).bits_per_param).toBe(32);
  });

  it('TurboQuant: codes + fp32 per group + g sign bits (= @nq/turboquant turboquantTensorBits)', () => {
    expect(turboquantBits(256, 768, { bits: 4, group: 128, codebook: 'sphere' })).toBe(
      256 * 768 * 4 + 256 * 6 * 32 + 128,
    );
    expect(turboquantBits(256, 768, { bits: 3, group: 64, codebook: 'fitted' })).toBe(
      turboquantTensorBits(256, 768, { bits: 3, groupSize: 64, codebook: 'fitted' }).total,
    );
  });

  it('mixed precision: role widths by hand', () => {
    const b = methodBits(parseModelRecipe('mixed-k8-rest4'), S, null);
    const k = 64 * 256;
    const rest = LIN / 4 - k;
    const hand = 4 * (k * (8 + 40 / 128) + rest * (4 + 36 / 128));
    expect(b.linear_bits_per_param).toBeCloseTo(hand / LIN, 12);
    const f = methodBits(parseModelRecipe('mixed-kf16-rest4'), S, null);
    expect(f.linear_bits_per_param).toBeCloseTo((4 * (k * 16 + rest * (4 + 36 / 128))) / LIN, 12);
  });

  it('GPTQ act-order stores g_idx (int32 per input column); rescales are free', () => {
    const a = methodBits(parseModelRecipe('gptq-w4a16-g128;act-order'), S, null);
    const n = methodBits(parseModelRecipe('gptq-w4a16-g128'), S, null);
    const cols = 4 * (256 * 6 + 768);
    expect((a.linear_bits_per_param - n.linear_bits_per_param) * LIN).toBeCloseTo(32 * cols, 6);
    expect(methodBits(parseModelRecipe('awq+rtn-w4a16-g128'), S, null)).toEqual(n);
  });

  it('kernel rows: quantizer bits per element', () => {
    expect(quantizerBitsPerElement(null, 4, 4)).toBe(32);
    expect(
      quantizerBitsPerElement(
        { format: 'int', bits: 4, granularity: 'group', groupSize: 128, symmetric: false },
        8,
        256,
      ),
    ).toBe(4.28125);
    expect(quantizerBitsPerElement({ format: 'mxfp4' }, 8, 256)).toBe(4.25);
    expect(
      quantizerBitsPerElement({ format: 'int', bits: 4, granularity: 'token', symmetric: true }, 8, 256),
    ).toBe(4.125);
  });
});
