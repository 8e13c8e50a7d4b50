import { type Matrix, Rng, zeros } from '@nq/core';
import { pickDistinct, studentTUnitVariance } from './sampling.js';
import { median } from './stats.js';

/**
 * Synthetic LLM-like activations (tokens × channels) and a matching weight matrix (out × channels),
 * generated deterministically from a seed. The model of an activation is
 *
 *   x[t, c] = g_c · z[t, c],   z ~ Student-t(ν) scaled to unit variance,
 *   g_c     = exp(σ·n_c)  (n_c ~ N(0,1): channels differ in scale, as after RMSNorm·γ),
 *             × U(outlierLo, outlierHi) on `outlierChannels` random channels (systematic outlier
 *               channels, as seen in LLM.int8() and SmoothQuant),
 * and then on `massiveTokens` random tokens, `massiveChannels` fixed random channels are set to
 *   ±massiveScale × median|x|  (the "massive activations" of Sun et al. 2024: a few tokens, a few
 *   channels, 100–1000× the median).
 *
 * Weights: w[o, c] = t_8 noise / √channels (trained weights are near-Gaussian with mild tails).
 *
 * Every field is stored in the cell spec, so a profile change is a new cell, never a silently
 * different number under an old id.
 */
export interface SyntheticSpec {
  profile: string;
  tokens: number;
  channels: number;
  /** Rows of the weight matrix used for the GEMM-error metric. */
  out: number;
  nu: number;
  channelSpread: number;
  outlierChannels: number;
  outlierLo: number;
  outlierHi: number;
  massiveTokens: number;
  massiveChannels: number;
  massiveScale: number;
}

type ProfileParams = Omit<SyntheticSpec, 'profile' | 'tokens' | 'channels' | 'out'>;

/**
 * Named profiles. The docs5m-* ones are matched to nq-docs-5M's measured linear-input statistics
 * (../shared/models/nq-docs-5M/nq-docs-5M.ref.json, `linear_input_stats`; test/synthetic.test.ts
 * checks the match on the same shapes as that table: 64 tokens × 256 or 768 channels):
 *   docs5m-attn ↔ attn_in/ffn_in rows: kurtosis 3.0–3.8, top-channel ratio 1.6–2.1;
 *   docs5m-down ↔ down_in rows:        kurtosis 43–240,  top-channel ratio 5–13.
 * llm-outlier stands for billion-parameter models, whose tails are much heavier than this small
 * model's: outlier channels ×20–100 and massive activations ×500 the median on 2 tokens.
 */
export const PROFILES: Record<string, ProfileParams> = {
  'docs5m-attn': {
    nu: 20,
    channelSpread: 0.08,
    outlierChannels: 0,
    outlierLo: 1,
    outlierHi: 1,
    massiveTokens: 0,
    massiveChannels: 0,
    massiveScale: 0,
  },
  'docs5m-down': {
    nu: 5,
    channelSpread: 0.5,
    outlierChannels: 2,
    outlierLo: 3,
    outlierHi: 6,
    massiveTokens: 1,
    massiveChannels: 1,
    massiveScale: 80,
  },
  'llm-outlier': {
    nu: 6,
    channelSpread: 0.3,
    outlierChannels: 4,
    outlierLo: 20,
    outlierHi: 100,
    massiveTokens: 2,
    massiveChannels: 2,
    massiveScale: 500,
  },
};

export const PROFILE_NAMES = Object.keys(PROFILES);

export function syntheticSpec(
  profile: string,
  dims: { tokens: number; channels: number; out: number },
): SyntheticSpec {
  const p = PROFILES[profile];
  if (!p) throw new Error(`unknown profile ${profile}`); // validated earlier by the sweep schema
  return { profile, ...dims, ...p };
}

/** Activations (tokens × channels) for `spec` and `seed`. Same inputs → bit-identical output. */
export function syntheticActivations(spec: SyntheticSpec, seed: number): Matrix {
  const root = new Rng(seed).fork(`synthetic-activations:${spec.profile}`);
  const { tokens, channels } = spec;
  const gain = new Float64Array(channels);
  const rc = root.fork('channel-gain');
  for (let c = 0; c < channels; c++) gain[c] = Math.exp(spec.channelSpread * rc.normal());
  const ro = root.fork('outlier-channels');
  for (const c of pickDistinct(ro, channels, Math.min(spec.outlierChannels, channels))) {
    gain[c] = gain[c]! * (spec.outlierLo + (spec.outlierHi - spec.outlierLo) * ro.uniform());
  }
  const x = zeros(tokens, channels);
  const rz = root.fork('bulk');
  const d = x.data;
  for (let t = 0; t < tokens; t++) {
    const o = t * channels;
    for (let c = 0; c < channels; c++) d[o + c] = gain[c]! * studentTUnitVariance(rz, spec.nu);
  }
  if (spec.massiveTokens > 0 && spec.massiveChannels > 0) {
    const abs = new Float32Array(d.length);
    for (let i = 0; i < d.length; i++) abs[i] = Math.abs(d[i]!);
    const level = spec.massiveScale * median(abs);
    const rm = root.fork('massive');
    const chans = pickDistinct(rm, channels, Math.min(spec.massiveChannels, channels));
    for (const t of pickDistinct(rm, tokens, Math.min(spec.massiveTokens, tokens))) {
      for (const c of chans) d[t * channels + c] = (rm.uniform() < 0.5 ? -1 : 1) * level;
    }
  }
  return x;
}

/** The weight matrix (out × channels) that multiplies these activations in the GEMM-error metric. */
export function syntheticWeights(spec: SyntheticSpec, seed: number): Matrix {
  const r = new Rng(seed).fork(`synthetic-weights:${spec.profile}`);
  const w = zeros(spec.out, spec.channels);
  const s = 1 / Math.sqrt(spec.channels);
  for (let i = 0; i < w.data.length; i++) w.data[i] = s * studentTUnitVariance(r, 8);
  return w;
}
