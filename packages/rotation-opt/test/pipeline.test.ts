import { NqInputError, Rng } from '@nq/core';
import { randomHadamard, randomOrthogonal, toDense } from '@nq/hadamard';
import { type ForwardHooks, forward, fuseNorms, randomModel, TINY_CONFIG } from '@nq/model';
import { describe, expect, it } from 'vitest';
import { trainAdaCodec } from '../src/adacodec.js';
import {
  blockCodec,
  buildCodecModel,
  type CodecPlan,
  captureInputs,
  GROUP_OF,
  INPUT_GROUPS,
  rotationCodec,
} from '../src/pipeline.js';
import { activationSpec, rowQuantizer } from '../src/quantizers.js';

const model = randomModel(TINY_CONFIG, 7);
const c = TINY_CONFIG;
const tokens = Array.from({ length: 24 }, (_, i) => (i * 13 + 5) % c.vocabSize);
const sizeOf = (g: string) => (g === 'down' ? c.hiddenDim : c.dim);

function relMaxDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / m;
}

/** A reference codec forward written from the definition, unfused: x̂ = Q(x·E)·D, then x̂·Wᵀ with the ORIGINAL W (float64 sums). */
function unfusedHooks(plan: CodecPlan, quant: ReturnType<typeof rowQuantizer> | null): ForwardHooks {
  return {
    replaceLinear: (layer, name, x, w) => {
      const cd = plan[layer]![INPUT_GROUPS.indexOf(GROUP_OF[name])]!;
      const T = x.rows;
      const n = x.cols;
      const z = new Float32Array(T * n);
      for (let t = 0; t < T; t++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let i = 0; i < n; i++) s += x.data[t * n + i]! * cd.enc[i * n + j]!;
          z[t * n + j] = s;
        }
      if (quant) quant(z, T, n, z);
      const xh = new Float64Array(T * n);
      for (let t = 0; t < T; t++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let i = 0; i < n; i++) s += z[t * n + i]! * cd.dec[i * n + j]!;
          xh[t * n + j] = s;
        }
      const y = new Float32Array(T * w.rows);
      for (let t = 0; t < T; t++)
        for (let o = 0; o < w.rows; o++) {
          let s = 0;
          for (let i = 0; i < n; i++) s += xh[t * n + i]! * w.data[o * n + i]!;
          y[t * w.rows + o] = s;
        }
      return { rows: T, cols: w.rows, data: y };
    },
  };
}

function adaCodecPlan(format: 'int4' | 'nvfp4'): CodecPlan {
  // Train real (D ≠ Eᵀ) codecs on the model's own inputs.
  const seqs = [Int32Array.from(tokens)];
  const cap = captureInputs(model, seqs);
  const q = rowQuantizer(activationSpec(format));
  return Array.from({ length: c.nLayers }, (_, l) =>
    INPUT_GROUPS.map((g) => {
      const n = sizeOf(g);
      const r = trainAdaCodec(cap.data.get(`${l}.${g}`)!, cap.rows, n, q, {
        block: 16,
        seed: l,
        iterations: 15,
        lr: 0.1,
      });
      return blockCodec(r.enc, r.dec, `adacodec ${l}.${g}`);
    }),
  );
}

describe('codec model (fused decoders)', () => {
  const ref = forward(model, tokens).data;

  it('rotation codecs (RH / RO, decoder Rᵀ fused into W) leave the full-precision function unchanged', () => {
    const plan: CodecPlan = Array.from({ length: c.nLayers }, (_, l) =>
      INPUT_GROUPS.map((g, k) =>
        rotationCodec(
          k % 2
            ? toDense(randomOrthogonal(sizeOf(g), l * 4 + k)).data
            : toDense(randomHadamard(sizeOf(g), l * 4 + k)).data,
          sizeOf(g),
          g,
        ),
      ),
    );
    const cm = buildCodecModel(model, plan, { activations: null, weights: null });
    expect(relMaxDiff(forward(cm.model, tokens, { hooks: cm.hooks }).data, ref)).toBeLessThan(1e-5);
  });

  it('trained AdaCodec decoders (D ≠ Eᵀ) fused into W compute the same function as the unfused codec, with and without quantized activations', () => {
    const plan = adaCodecPlan('int4');
    // D really differs from Eᵀ somewhere (else this test would not test fusion of a learned decoder).
    let off = 0;
    for (const row of plan)
      for (const cd of row)
        for (let i = 0; i < cd!.n; i++)
          for (let j = 0; j < cd!.n; j++)
            off = Math.max(off, Math.abs(cd!.dec[i * cd!.n + j]! - cd!.enc[j * cd!.n + i]!));
    expect(off).toBeGreaterThan(1e-3);
    for (const fmt of [null, 'int4'] as const) {
      const cm = buildCodecModel(model, plan, { activations: fmt, weights: null });
      const fused = forward(cm.model, tokens, { hooks: cm.hooks }).data;
      // The codec is defined on the norm-fused model's inputs (x/rms(x)); with D ≠ Eᵀ it does not
      // commute with the norm scales, so the unfused reference runs on fuseNorms(model).
      const unfused = forward(fuseNorms(model), tokens, {
        hooks: unfusedHooks(plan, fmt ? rowQuantizer(activationSpec(fmt)) : null),
      }).data;
      // fuseNorms + reassociation: float32 rounding only (INT4 rounding decisions can flip on a few
      // elements whose x·E sits on a grid midpoint, hence the looser bound with quantization).
      expect(relMaxDiff(fused, unfused)).toBeLessThan(fmt ? 2e-3 : 1e-5);
    }
  });

  it('quantized weights: RTN and GPTQ run; GPTQ needs calibration (typed error)', () => {
    const plan = adaCodecPlan('nvfp4');
    const calib = [Int32Array.from(tokens), Int32Array.from(tokens.map((t) => (t * 7 + 1) % c.vocabSize))];
    const rtn = buildCodecModel(model, plan, { activations: 'nvfp4', weights: 'rtn' });
    const gptq = buildCodecModel(model, plan, { activations: 'nvfp4', weights: 'gptq', calibration: calib });
    const a = forward(rtn.model, tokens, { hooks: rtn.hooks }).data;
    const b = forward(gptq.model, tokens, { hooks: gptq.hooks }).data;
    expect(a.every(Number.isFinite) && b.every(Number.isFinite)).toBe(true);
    expect(relMaxDiff(a, ref)).toBeGreaterThan(0);
    expect(() => buildCodecModel(model, plan, { activations: 'int4', weights: 'gptq' })).toThrow(
      NqInputError,
    );
    expect(() => buildCodecModel(model, plan.slice(1), { activations: 'int4', weights: null })).toThrow(
      /plan/,
    );
    expect(() => captureInputs(model, [])).toThrow(/calibration/);
    void Rng;
  });
});
