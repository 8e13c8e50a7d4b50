import type { LinearRole, RoleFormat } from './model-methods.js';

/*
 * Bits per parameter, counted honestly: every stored bit (codes, scales, zero points, codebooks,
 * sign vectors and matrices applied online, g_idx) and every tensor kept in full precision
 * (token embedding, RMSNorm scales, classifier: float32, as the shared checkpoints store them).
 *
 *   bits_per_param        = all stored bits / all parameters            (the whole model)
 *   linear_bits_per_param = bits of the block linears (q k v o gate up down, with what they need
 *                           at run time: online rotation signs / matrices) / their parameters
 *
 * Conventions (the storage that reproduces the numbers nq evaluates, not a friendlier one):
 * - INT weights: b-bit codes; one float32 scale per unit (group / output row); asymmetric units also
 *   a b-bit integer zero point. g128 asymmetric INT4 = 4 + (32 + 4)/128 = 4.28125 bits. The common
 *   "4.25" figure is the f16-scale + f16-zero layout (intTensorBits with scaleBits 16, zeroBits 16).
 * - Rotations fused into weights (QuaRot's R1, rotation-opt's R1 / decoders) cost nothing; an online
 *   random Hadamard costs its sign vector (n bits); an online dense or block matrix its float32 entries.
 * - Folded rescales (SmoothQuant, H_ii^α, AWQ) live in the RMSNorm scales and up_proj rows: 0 bits.
 * - Activations are not parameters: their width is reported separately as act_bits.
 */

/** The tensor sizes of a LLaMA-family model (from its config). */
export interface ModelShape {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  /** Classifier shares the embedding's storage (counted once). */
  tied: boolean;
}

export interface BitsCount {
  bits_per_param: number;
  linear_bits_per_param: number;
}

/** rows × cols of every block linear of one layer. */
export function linearShapes(s: ModelShape): Record<LinearRole, [rows: number, cols: number]> {
  const hd = s.dim / s.nHeads;
  return {
    q: [s.nHeads * hd, s.dim],
    k: [s.nKvHeads * hd, s.dim],
    v: [s.nKvHeads * hd, s.dim],
    o: [s.dim, s.nHeads * hd],
    gate: [s.hiddenDim, s.dim],
    up: [s.hiddenDim, s.dim],
    down: [s.dim, s.hiddenDim],
  };
}

/** Parameters outside the block linears: embedding, classifier (unless tied), every RMSNorm scale. */
export function keptParams(s: ModelShape): number {
  return s.vocabSize * s.dim * (s.tied ? 1 : 2) + s.dim * (2 * s.nLayers + 1);
}

export function linearParams(s: ModelShape): number {
  let n = 0;
  for (const [r, c] of Object.values(linearShapes(s))) n += r * c;
  return n * s.nLayers;
}

/**
 * The whole-model and linear-only figures from a per-linear bit count, plus `extraLinearBits`
 * (online rotation state) and the bits of everything else (`keptBits`, default float32).
 */
export function countModelBits(
  s: ModelShape,
  linearBits: (rows: number, cols: number, layer: number, role: LinearRole) => number,
  opts: { extraLinearBits?: number; keptBits?: number } = {},
): BitsCount {
  let lin = opts.extraLinearBits ?? 0;
  const shapes = linearShapes(s);
  for (let l = 0; l < s.nLayers; l++)
    for (const [role, [r, c]] of Object.entries(shapes) as [LinearRole, [number, number]][])
      lin += linearBits(r, c, l, role);
  const lp = linearParams(s);
  const kp = keptParams(s);
  const kept = opts.keptBits ?? kp * 32;
  return { bits_per_param: (lin + kept) / (lp + kp), linear_bits_per_param: lin / lp };
}

/** INT weight storage: codes + per unit a scale (scaleBits) and, asymmetric, a zero point (zeroBits). */
export function intTensorBits(
  rows: number,
  cols: number,
  q: { bits: number; group: number | null; symmetric: boolean; scaleBits?: number; zeroBits?: number },
): number {
  const units = q.group === null ? rows : rows * Math.ceil(cols / q.group);
  const perUnit = (q.scaleBits ?? 32) + (q.symmetric ? 0 : (q.zeroBits ?? q.bits));
  return rows * cols * q.bits + units * perUnit;
}

/** GPTQ act-order without static groups stores g_idx: one int32 group index per input column. */
export function gIdxBits(cols: number, actOrder: boolean, group: number | null): number {
  return actOrder && group !== null ? 32 * cols : 0;
}

/** NVFP4: E2M1 codes, an E4M3 scale per 16 values, a float32 global scale per tensor. */
export function nvfp4TensorBits(rows: number, cols: number): number {
  return rows * cols * 4 + Math.ceil((rows * cols) / 16) * 8 + 32;
}

/**
 * llama.cpp block formats: bytes per block × 8 / weights per block (ggml's type traits).
 * Q8_0 = 34 bytes / 32 = 8.5; Q4_K = 144 / 256 = 4.5; Q6_K = 210 / 256 = 6.5625.
 */
export const GGML_BITS_PER_WEIGHT: Record<string, number> = {
  F32: 32,
  F16: 16,
  Q8_0: (34 * 8) / 32,
  Q4_0: (18 * 8) / 32,
  Q4_1: (20 * 8) / 32,
  Q5_0: (22 * 8) / 32,
  Q5_1: (24 * 8) / 32,
  Q4_K: (144 * 8) / 256,
  Q5_K: (176 * 8) / 256,
  Q6_K: (210 * 8) / 256,
};

/** Storage of one role in a mixed recipe (INT roles are asym g128 with float32 scale + b-bit zero). */
export function roleTensorBits(rows: number, cols: number, f: RoleFormat): number {
  if (f.kind === 'f16') return rows * cols * 16;
  if (f.kind === 'q8_0') return rows * cols * GGML_BITS_PER_WEIGHT.Q8_0!;
  return intTensorBits(rows, cols, { bits: f.bits, group: 128, symmetric: false });
}

/**
 * A model where each tensor is stored in one ggml type: `typeOf(name, rows, cols)` for every tensor,
 * in GGUF names (token_embd, output, blk.N.attn_q …); norms F32. Linear-only figure over the blocks.
 */
export function ggmlModelBits(
  s: ModelShape,
  typeOf: (name: string, rows: number, cols: number) => string,
): BitsCount {
  const gg: Record<LinearRole, string> = {
    q: 'attn_q',
    k: 'attn_k',
    v: 'attn_v',
    o: 'attn_output',
    gate: 'ffn_gate',
    up: 'ffn_up',
    down: 'ffn_down',
  };
  const bpw = (t: string) => {
    const b = GGML_BITS_PER_WEIGHT[t];
    if (b === undefined) throw new Error(`no bit count for ggml type ${t}`);
    return b;
  };
  const emb = s.vocabSize * s.dim;
  let kept = emb * bpw(typeOf('token_embd.weight', s.vocabSize, s.dim));
  if (!s.tied) kept += emb * bpw(typeOf('output.weight', s.vocabSize, s.dim));
  kept += s.dim * (2 * s.nLayers + 1) * 32;
  return countModelBits(s, (r, c, l, role) => r * c * bpw(typeOf(`blk.${l}.${gg[role]}.weight`, r, c)), {
    keptBits: kept,
  });
}

/** Online random-Hadamard sign vectors, one per (layer, input) with the given sizes. */
export function signBits(s: ModelShape, inputs: ('attn' | 'o' | 'ffn' | 'down')[]): number {
  const n = { attn: s.dim, o: s.dim, ffn: s.dim, down: s.hiddenDim };
  return s.nLayers * inputs.reduce((a, i) => a + n[i], 0);
}

/** Online dense float32 n × n matrices, one per (layer, input). */
export function denseRotationBits(s: ModelShape, inputs: ('attn' | 'o' | 'ffn' | 'down')[]): number {
  const n = { attn: s.dim, o: s.dim, ffn: s.dim, down: s.hiddenDim };
  return s.nLayers * inputs.reduce((a, i) => a + 32 * n[i] * n[i], 0);
}
