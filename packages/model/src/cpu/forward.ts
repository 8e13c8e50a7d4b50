import { type Matrix, NqInputError } from '@nq/core';
import type { ForwardHooks } from '../hooks.js';
import type { LinearName, LoadedModel } from '../types.js';
import { attentionByGemm } from './attention-gemm.js';
import { checkForwardArgs } from './forward-args.js';
import { gemmABt } from './gemm.js';
import type { KvCache } from './kv-cache.js';
import { addInPlace, applyRope, attention, rmsNorm, swiglu } from './ops.js';
import { defaultWasmGemm, engineOf } from './wasm/wasm-gemm.js';
import { attentionFits, opsOn, ropeFits, type WasmOps, wasmOps } from './wasm/wasm-ops.js';
import { releaseWorkspace, takeWorkspace, type Workspace } from './workspace.js';

/** Y[T, N] = X[T, K] · W[N, K]ᵀ; the default is the single-thread blocked GEMM. */
export type GemmFn = (
  x: Float32Array,
  T: number,
  K: number,
  w: Float32Array,
  N: number,
  y: Float32Array,
) => void;

export interface ForwardOptions {
  /** Capture/replace hooks (see hooks.ts). */
  hooks?: ForwardHooks;
  /**
   * Continue from this cache: the tokens take positions cache.length… and their K/V rows are
   * appended (decode, or chunked prefill). Without a cache every call starts a fresh sequence.
   */
  cache?: KvCache;
  /** RoPE position of the first token when no cache is given (default 0). */
  startPos?: number;
  /** Compute logits for the last token only: the result is [1, vocab] (decoding). */
  lastOnly?: boolean;
  /**
   * Compute no logits at all: only extend `cache` with the tokens' K/V rows (prompt caching, what
   * llama.cpp's prompt evaluation does when no output is requested). The last layer stops after its
   * K and V; the result is [0, vocab]. Not with `lastOnly`.
   */
  noLogits?: boolean;
  /**
   * Write the logits here instead of a new array (its first rows·vocab floats; the result's data is
   * a view of it). Saves the allocation, which for [256, 32000] logits (32 MB) costs more than the
   * classifier's GEMM on a VM where fresh pages fault slowly.
   */
  out?: Float32Array;
  /**
   * How GEMMs run, e.g. a `GemmPool`'s `gemm` for worker threads. Default: this thread, with the
   * WebAssembly SIMD kernel where available (else the JS kernel `gemmABt`).
   */
  gemm?: GemmFn;
}

/**
 * Without the SIMD attention kernel, attention for this many queries on runs as two GEMMs per KV head
 * (attention-gemm.ts) instead of the direct loop, which needs no copies.
 */
const ATTENTION_GEMM_MIN_TOKENS = 8;

let cachedDefault: GemmFn | undefined;
/** The GEMM forward() uses when none is given: the process-wide SIMD engine, or the JS kernel. */
export function defaultGemm(): GemmFn {
  cachedDefault ??= defaultWasmGemm()?.gemm ?? gemmABt;
  return cachedDefault;
}

function view(data: Float32Array, rows: number, cols: number): Matrix {
  return { rows, cols, data: data.subarray(0, rows * cols) };
}

/**
 * Runs the model on a whole sequence (prefill) and returns the logits at every position,
 * [T, vocab] (or [1, vocab] with `lastOnly`, none with `noLogits`). Plain causal LLaMA: embeddings → per layer
 * (RMSNorm → q/k/v → RoPE → grouped-query causal attention → o, residual; RMSNorm → SwiGLU → down,
 * residual) → final RMSNorm → classifier. The model is never modified.
 */
export function forward(model: LoadedModel, tokens: ArrayLike<number>, opts: ForwardOptions = {}): Matrix {
  const c = model.config;
  const { storeBase, pos0 } = checkForwardArgs(c, tokens, opts);
  const w = model.weights;
  const T = tokens.length;
  const { hooks, cache } = opts;
  const gemm = opts.gemm ?? defaultGemm();
  const dim = c.dim;
  const hd = dim / c.nHeads;
  const qDim = c.nHeads * hd;
  const kv = c.nKvHeads * hd;
  const hidden = c.hiddenDim;
  const engine = engineOf(gemm);
  const ws = takeWorkspace(c, engine);
  try {
    ws.ensure(T, Math.max(pos0 + T, storeBase + T));
    return run(ws, engine ? opsOn(engine) : wasmOps());
  } finally {
    releaseWorkspace(ws);
  }

  // The pass itself, on a workspace taken (and always given back) above.
  function run(ws: Workspace, ops: WasmOps | null): Matrix {
    // Rows of x a linear reads: T, except in a pruned last layer (see below).
    const linear = (
      layer: number,
      name: LinearName,
      x: Float32Array,
      rows: number,
      K: number,
      wm: Matrix,
      y: Float32Array,
    ): void => {
      if (hooks && (hooks.captureLinearInput || hooks.replaceLinear)) {
        const xm = view(x, rows, K);
        hooks.captureLinearInput?.(layer, name, xm);
        const r = hooks.replaceLinear?.(layer, name, xm, wm);
        if (r !== undefined) {
          if (
            !r ||
            r.rows !== rows ||
            r.cols !== wm.rows ||
            !(r.data instanceof Float32Array) ||
            r.data.length !== rows * wm.rows
          ) {
            throw new NqInputError(
              'hooks.replaceLinear',
              `returned a ${r?.rows}×${r?.cols} result for layer ${layer} ${name}, expected ${rows}×${wm.rows}`,
              'Return a [T, out] Matrix or undefined.',
            );
          }
          y.set(r.data);
          return;
        }
      }
      gemm(x, rows, K, wm.data, wm.rows, y);
    };

    // Embeddings.
    const x = ws.x;
    const embed = w.tokenEmbedding.data;
    for (let t = 0; t < T; t++) {
      const id = tokens[t]!;
      x.set(embed.subarray(id * dim, (id + 1) * dim), t * dim);
    }

    // With lastOnly, only the last position's output is read, so the last layer needs K and V of every
    // position but its queries, attention, o_proj and MLP only at that position (llama.cpp prunes the
    // same way); with noLogits it needs only its K and V. Neither when a hook sees linear inputs:
    // calibration captures every row.
    const canPrune = !hooks?.captureLinearInput && !hooks?.replaceLinear;
    const prune = opts.lastOnly === true && T > 1 && canPrune;
    const kvOnlyLast = opts.noLogits === true && canPrune;
    // xs += y (the residual, when y is given) over `rows` rows, then ws.xn = RMSNorm(xs)·weight: one
    // SIMD pass where available. Each block's output is added by the next norm (or the final one).
    const addNorm = (xs: Float32Array, y: Float32Array | null, weight: Float32Array, rows: number) => {
      if (ops && dim % 4 === 0) ops.addRmsNorm(xs, y, weight, ws.xn, rows, dim, c.normEps);
      else {
        if (y) addInPlace(xs, y, rows * dim);
        rmsNorm(xs, weight, ws.xn, rows, dim, c.normEps);
      }
    };
    /** RoPE of `rows` rows of width `width` from position `pos` (SIMD where available). */
    const rope = (xs: Float32Array, rows: number, width: number, pos: number) => {
      if (ops && ropeFits(hd)) ops.rope(xs, rows, width, hd, pos, ws.rope.cos, ws.rope.sin);
      else applyRope(xs, rows, width, pos, ws.rope);
    };
    /** The MLP output of the previous layer, not yet added to x (every row but in a pruned layer). */
    let pending: Float32Array | null = null;
    let pendingFrom = 0;
    for (let l = 0; l < c.nLayers; l++) {
      const L = w.layers[l]!;
      // Rows [r0, T) get queries, attention and MLP in this layer.
      const r0 = prune && l === c.nLayers - 1 ? T - 1 : 0;
      const R = T - r0;
      const xr = r0 === 0 ? x : x.subarray(r0 * dim);
      const xnr = r0 === 0 ? ws.xn : ws.xn.subarray(r0 * dim);
      const kvOnly = kvOnlyLast && l === c.nLayers - 1;
      // Attention block (only the last layer is pruned, so `pending` covers all T rows here).
      addNorm(x, pending, L.attnNorm, T);
      if (!kvOnly) linear(l, 'q', xnr, R, dim, L.q, ws.q);
      const kStore = cache ? cache.k[l]! : ws.k;
      const vStore = cache ? cache.v[l]! : ws.v;
      const kNew = storeBase === 0 ? kStore : kStore.subarray(storeBase * kv);
      const vNew = storeBase === 0 ? vStore : vStore.subarray(storeBase * kv);
      linear(l, 'k', ws.xn, T, dim, L.k, kNew);
      linear(l, 'v', ws.xn, T, dim, L.v, vNew);
      if (!kvOnly) rope(ws.q, R, qDim, pos0 + r0);
      rope(kNew, T, kv, pos0);
      if (hooks?.quantizeKv) {
        for (let t = 0; t < T; t++) {
          for (let g = 0; g < c.nKvHeads; g++) {
            const o = t * kv + g * hd;
            hooks.quantizeKv(l, 'k', g, pos0 + t, kNew.subarray(o, o + hd));
            hooks.quantizeKv(l, 'v', g, pos0 + t, vNew.subarray(o, o + hd));
          }
        }
      }
      if (kvOnly) break;
      // The SIMD attention kernel, for prefill and decode alike (even a one-token step that copies a
      // cache living outside the engine's memory in: a copy costs less than the direct loop's
      // float64 products); without it, GEMMs for prefill and the direct loop for decode. Queries sit
      // at stored positions storeBase + r0 …; keys up to storeBase + T.
      const p0 = storeBase + r0;
      if (ops && attentionFits(hd))
        ops.attention(ws.q, kStore, vStore, ws.att, R, p0, c.nHeads, c.nKvHeads, hd);
      else if (R >= ATTENTION_GEMM_MIN_TOKENS)
        attentionByGemm(gemm, ws.attn, ws.q, kStore, vStore, ws.att, R, p0, c.nHeads, c.nKvHeads, hd);
      else attention(ws.q, kStore, vStore, ws.att, ws.scores, ws.acc, R, p0, c.nHeads, c.nKvHeads, hd);
      linear(l, 'o', ws.att, R, qDim, L.o, ws.proj);
      // MLP block.
      addNorm(xr, ws.proj, L.ffnNorm, R);
      linear(l, 'gate', ws.xn, R, dim, L.gate, ws.gate);
      linear(l, 'up', ws.xn, R, dim, L.up, ws.up);
      if (ops) ops.swiglu(ws.gate, ws.up, R * hidden, (g, u, from, to) => swiglu(g, u, to, from));
      else swiglu(ws.gate, ws.up, R * hidden);
      const r4 = model.online?.downInput;
      if (r4) {
        const rotated = r4.applyRight(view(ws.gate, R, hidden));
        ws.gate.set(rotated.data);
      }
      linear(l, 'down', ws.gate, R, hidden, L.down, ws.proj);
      pending = ws.proj;
      pendingFrom = r0;
    }
    if (cache) cache.length += T;
    if (opts.noLogits) return { rows: 0, cols: c.vocabSize, data: new Float32Array(0) };

    // Final norm and classifier.
    const first = opts.lastOnly ? T - 1 : 0;
    const rows = T - first;
    if (pending && pendingFrom !== first) {
      // lastOnly with hooks: the last layer ran on every row, only the last one is normed.
      addInPlace(x.subarray(pendingFrom * dim), pending, (T - pendingFrom) * dim);
      pending = null;
    }
    addNorm(x.subarray(first * dim), pending, w.finalNorm, rows);
    const logits = opts.out ? opts.out.subarray(0, rows * c.vocabSize) : new Float32Array(rows * c.vocabSize);
    gemm(ws.xn, rows, dim, w.output.data, c.vocabSize, logits);
    return { rows, cols: c.vocabSize, data: logits };
  }
}
