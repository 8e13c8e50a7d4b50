import { NqInputError } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { checkRecipe, modelMethodOf } from '../src/studies/model-study.js';
import { parseSweep } from '../src/sweep/load.js';
import { parseModelRecipe } from '../src/techniques/model-methods.js';

describe('model-method catalog: names', () => {
  it('parses every family into its descriptor and number format', () => {
    const g = parseModelRecipe('gptq-w3a16-g128;calib=8x128;act-order');
    expect(g.base).toEqual({ kind: 'int', method: 'gptq', bits: 3, group: 128 });
    expect(g.calib).toEqual({ sequences: 8, ctx: 128 });
    expect(g.actOrder).toBe(true);
    expect(g.format).toBe('w3a16-g128');
    expect(parseModelRecipe('rtn-w4a16-pc').base).toEqual({
      kind: 'int',
      method: 'rtn',
      bits: 4,
      group: null,
    });
    expect(parseModelRecipe('rtn-w4a16-pc').calib).toBeNull();
    expect(parseModelRecipe('gptq-w4a16-g128').calib).toEqual({ sequences: 16, ctx: 256 });
    expect(parseModelRecipe('quarot-w4a4-gptq').format).toBe('quarot-w4a4');
    expect(parseModelRecipe('adacodec-w4a4-nvfp4-gptq').base).toEqual({
      kind: 'codec',
      codec: 'adacodec',
      format: 'nvfp4',
      weights: 'gptq',
    });
    expect(parseModelRecipe('dfrot-w4a4').base).toMatchObject({
      codec: 'dfrot',
      format: 'int4',
      weights: 'rtn',
    });
    expect(parseModelRecipe('turboquant-w3-g64-fitted-mse').base).toEqual({
      kind: 'turboquant',
      method: 'rtn',
      bits: 3,
      group: 64,
      codebook: 'fitted',
      correction: 'mse',
    });
    expect(parseModelRecipe('turboquant-gptq-w4').format).toBe(parseModelRecipe('turboquant-w4').format);
    expect(parseModelRecipe('q4_k_m').base).toEqual({ kind: 'kquant', recipe: 'q4_k_m' });
    expect(parseModelRecipe('gguf-q6_k').base).toEqual({ kind: 'gguf-type', type: 'q6_k' });
    expect(parseModelRecipe('llamacpp-q8_0').format).toBe('q8_0');
    expect(parseModelRecipe('mixed-k8-down8-rest4').base).toEqual({
      kind: 'mixed',
      roles: { k: { kind: 'int', bits: 8 }, down: { kind: 'int', bits: 8 } },
      rest: { kind: 'int', bits: 4 },
    });
    expect(parseModelRecipe('mixed-kf16-gateq8_0-rest3').base).toMatchObject({
      roles: { k: { kind: 'f16' }, gate: { kind: 'q8_0' } },
    });
    expect(parseModelRecipe('kv-v4').base).toEqual({ kind: 'kv', side: 'v', bits: 4 });
  });

  it('rescale prefixes compose with an inner recipe and keep its format', () => {
    const h = parseModelRecipe('hdiag-a0.15+had-w4a4', (n) => checkRecipe(n));
    expect(h.rescale).toEqual({ rule: 'hdiag', alpha: 0.15 });
    expect(h.base).toEqual({ kind: 'eval', recipe: 'had-w4a4' });
    expect(h.format).toBe('had-w4a4');
    expect(h.calib).toEqual({ sequences: 16, ctx: 256 });
    expect(parseModelRecipe('awq+gptq-w4a16-g128').rescale).toEqual({ rule: 'awq' });
    expect(parseModelRecipe('smoothquant-a0.5+rtn-w4a16-g128').format).toBe('w4a16-g128');
    // eval-ppl's own '+kv4' suffix is not a rescale prefix
    expect(modelMethodOf('had-w4a4+kv4')!.rescale).toBeNull();
  });

  it('plain eval-ppl names stay eval recipes; JSON specs are not catalog names', () => {
    expect(modelMethodOf('w4a16-rtn-g128')!.base).toEqual({ kind: 'eval', recipe: 'w4a16-rtn-g128' });
    expect(modelMethodOf('w4a16-rtn-g128')!.format).toBe('w4a16-g128');
    expect(modelMethodOf('bhad64-w4a4:w-only')!.base.kind).toBe('eval');
    expect(modelMethodOf('{"version":1}')).toBeNull();
  });

  it('unknown or malformed names throw NqInputError listing the grammar', () => {
    const bad = [
      'gptq-w9a16-g128',
      'gptq-w4a16-g100',
      'rtn-w4a16-g128;act-order',
      'q4_k_m;calib=8x256',
      'gptq-w4a16-g128;calib=0x256',
      'gptq-w4a16-g128;fast',
      'hdiag-a2+had-w4a4',
      'foo+had-w4a4',
      'awq+dfrot-w4a4',
      'gguf-q3_k',
      'mixed-k8',
      'mixed-rest4',
      'mixed-x8-rest4',
      'mixed-k9-rest4',
      'mixed-k8-k4-rest4',
      'turboquant-gptq-w4-fitted',
      'kv-q4',
      'nonsense',
    ];
    for (const n of bad) {
      let err: unknown;
      try {
        checkRecipe(n);
      } catch (e) {
        err = e;
      }
      expect(err, n).toBeInstanceOf(NqInputError);
      expect((err as Error).message, n).toContain(`'${n}'`);
      expect((err as Error).message, n).toContain('gptq-w<b>a16-g<g>');
    }
  });

  it('a sweep file with a bad recipe fails at load time, naming the index and value', () => {
    const sweep = {
      name: 'x',
      kind: 'baseline',
      model: { recipes: ['fp', 'gptq-w4a16-g128', 'gptq-w4a16-g100', 'awq+q8_0'] },
    };
    let msg = '';
    try {
      parseSweep(sweep, 'x.yaml');
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain('model.recipes[2]: "gptq-w4a16-g100"');
    expect(msg).not.toContain('model.recipes[1]');
    expect(msg).not.toContain('model.recipes[3]');
  });
});
