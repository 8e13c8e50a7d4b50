import { NqInputError } from '@nq/core';
import { describe, expect, it } from 'vitest';
import {
  q4_k_m,
  q8_0,
  recipeBitsPerParameter,
  recipeByName,
  type TensorDesc,
  useMoreBits,
} from '../src/index.js';

function llamaTensors(
  nLayers: number,
  dim: number,
  hidden: number,
  vocab: number,
  tied = false,
): TensorDesc[] {
  const t: TensorDesc[] = [{ name: 'token_embd.weight', dims: [dim, vocab], nLayers, hasOutput: !tied }];
  for (let l = 0; l < nLayers; l++) {
    for (const n of ['attn_q', 'attn_k', 'attn_v', 'attn_output'])
      t.push({ name: `blk.${l}.${n}.weight`, dims: [dim, dim], nLayers, hasOutput: !tied });
    t.push({ name: `blk.${l}.ffn_gate.weight`, dims: [dim, hidden], nLayers, hasOutput: !tied });
    t.push({ name: `blk.${l}.ffn_up.weight`, dims: [dim, hidden], nLayers, hasOutput: !tied });
    t.push({ name: `blk.${l}.ffn_down.weight`, dims: [hidden, dim], nLayers, hasOutput: !tied });
    t.push({ name: `blk.${l}.attn_norm.weight`, dims: [dim], nLayers, hasOutput: !tied });
  }
  t.push({ name: 'output_norm.weight', dims: [dim], nLayers, hasOutput: !tied });
  if (!tied) t.push({ name: 'output.weight', dims: [dim, vocab], nLayers, hasOutput: true });
  return t;
}

describe('recipes', () => {
  it('use_more_bits: first and last eighth, and every third layer from n/8 + 2', () => {
    // LLaMA-7B (32 layers): 0..3, then 6, 9, …, 27, then 28..31.
    const picked = Array.from({ length: 32 }, (_, i) => i).filter((i) => useMoreBits(i, 32));
    expect(picked).toEqual([0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31]);
    expect([0, 1, 2, 3].filter((i) => useMoreBits(i, 4))).toEqual([2, 3]);
  });

  it('q8_0: every 2-D weight Q8_0, 1-D F32', () => {
    for (const t of llamaTensors(2, 256, 768, 1000))
      expect(q8_0.typeFor(t)).toBe(t.dims.length === 1 ? 'F32' : 'Q8_0');
  });

  it('q4_k_m on a 32-layer model: Q6_K for output and the use_more_bits attn_v / ffn_down', () => {
    const ts = llamaTensors(32, 4096, 11008, 32000);
    const q6 = ts.filter((t) => q4_k_m.typeFor(t) === 'Q6_K').map((t) => t.name);
    expect(q6).toContain('output.weight');
    expect(q6.filter((n) => n.includes('attn_v')).length).toBe(16);
    expect(q6.filter((n) => n.includes('ffn_down')).length).toBe(16);
    expect(q4_k_m.typeFor(ts[0]!)).toBe('Q4_K'); // token_embd
    // Rows of 11040 (= 345·32, not a multiple of 256) fall back: Q4_K → Q5_0, Q6_K → Q8_0; rows
    // of 11000 (not a multiple of 32 either) to F16.
    expect(q4_k_m.typeFor({ name: 'blk.5.ffn_down.weight', dims: [11040, 4096], nLayers: 32 })).toBe('Q5_0');
    expect(q4_k_m.typeFor({ name: 'blk.0.ffn_down.weight', dims: [11040, 4096], nLayers: 32 })).toBe('Q8_0');
    expect(q4_k_m.typeFor({ name: 'blk.5.ffn_down.weight', dims: [11000, 4096], nLayers: 32 })).toBe('F16');
  });

  it('a tied model stores its classifier (token_embd) as Q6_K under q4_k_m', () => {
    const ts = llamaTensors(4, 256, 768, 4096, true);
    expect(q4_k_m.typeFor(ts[0]!)).toBe('Q6_K');
  });

  it('bits per parameter count every stored bit', () => {
    const ts = llamaTensors(4, 256, 768, 4096);
    const r = recipeBitsPerParameter(q8_0, ts);
    const norms = ts.filter((t) => t.dims.length === 1).reduce((a, t) => a + t.dims[0]!, 0);
    expect(r.params).toBe(ts.reduce((a, t) => a + t.dims.reduce((x, y) => x * y, 1), 0));
    expect(r.bits).toBe((r.params - norms) * 8.5 + norms * 32);
    expect(() => recipeByName('q3_k_xl')).toThrow(NqInputError);
  });
});
