// Capture of sub-layer outputs ("pre-activations" in this study's sense).
//
// A LLaMA block adds two things to the residual stream: the attention sub-layer's output
// o_proj(attn) and the MLP sub-layer's output down_proj(SwiGLU). The study's tensors are exactly
// those two linear outputs, per layer, before they are added to the residual: Y [T, dim].
// The float and the quantized model run on the same tokens, each in its own forward pass, so the
// quantized Y_q carries the error of its own sub-layer *and* everything propagated from earlier
// layers through the (quantized) residual stream — the error a corrector placed there would see.

import type { Matrix } from '@nq/core';
import type { ForwardHooks, LinearName, LoadedModel } from '@nq/model';
import { forward } from '@nq/model';
import { gemmABt } from '@nq/model/cpu';

export type SublayerKind = 'attn' | 'ffn';

/** The linear whose output is the sub-layer output. */
export const SUBLAYER_LINEAR: Record<SublayerKind, LinearName> = { attn: 'o', ffn: 'down' };

export function sublayerOf(name: LinearName): SublayerKind | null {
  return name === 'o' ? 'attn' : name === 'down' ? 'ffn' : null;
}

/** Unit index of (layer, kind): 2·layer for attention, 2·layer + 1 for the MLP. */
export function unitIndex(layer: number, kind: SublayerKind): number {
  return 2 * layer + (kind === 'ffn' ? 1 : 0);
}

/** Statistics of what the sub-layer's linear consumed (its input X), accumulated over all tokens. */
export interface InputStats {
  tokens: number;
  /** Σ over tokens of max|x_t| / rms(x_t): per-token outlier ratio, the A4 (per-token) difficulty. */
  sumMaxOverRms: number;
  /** Σ x², Σ x⁴ over every entry (for the non-central kurtosis E[x⁴]/E[x²]²). */
  s2: number;
  s4: number;
  entries: number;
}

export interface SublayerCapture {
  layer: number;
  kind: SublayerKind;
  dim: number;
  /** [N, dim]: all windows concatenated in order, window w at rows [w·T, (w+1)·T). */
  y: Float32Array;
  /** Per window: statistics of the linear's input (so features can use training windows only). */
  input: InputStats[];
}

export interface CaptureResult {
  windowLength: number;
  windows: number;
  units: SublayerCapture[];
}

export function emptyStats(): InputStats {
  return { tokens: 0, sumMaxOverRms: 0, s2: 0, s4: 0, entries: 0 };
}

export function addInputStats(st: InputStats, x: Matrix): void {
  const { rows, cols, data } = x;
  for (let t = 0; t < rows; t++) {
    let mx = 0;
    let s2 = 0;
    let s4 = 0;
    for (let i = 0; i < cols; i++) {
      const v = data[t * cols + i]!;
      const a = Math.abs(v);
      if (a > mx) mx = a;
      const v2 = v * v;
      s2 += v2;
      s4 += v2 * v2;
    }
    const rms = Math.sqrt(s2 / cols);
    st.tokens++;
    st.sumMaxOverRms += rms > 0 ? mx / rms : 0;
    st.s2 += s2;
    st.s4 += s4;
    st.entries += cols;
  }
}

/** Y = X·Wᵀ with @nq/model's JS kernel (used when no hook computes the linear). */
function linearOut(x: Matrix, w: Matrix): Float32Array {
  const y = new Float32Array(x.rows * w.rows);
  gemmABt(x.data, x.rows, x.cols, w.data, w.rows, y);
  return y;
}

/**
 * Wraps `inner` hooks (e.g. a quantization recipe's) so that every sub-layer output (o and down)
 * passes through `visit` — a copy the visitor may modify; what it leaves there is what the model
 * adds to its residual stream. Other linears run exactly as `inner` says.
 */
export function withSublayerHook(
  inner: ForwardHooks | undefined,
  visit: (layer: number, kind: SublayerKind, y: Float32Array, x: Matrix) => void,
): ForwardHooks {
  return {
    ...(inner?.captureLinearInput ? { captureLinearInput: inner.captureLinearInput } : {}),
    ...(inner?.quantizeKv ? { quantizeKv: inner.quantizeKv } : {}),
    replaceLinear: (layer, name, x, w) => {
      const r = inner?.replaceLinear?.(layer, name, x, w);
      const kind = sublayerOf(name);
      if (!kind) return r;
      // The recipe's result lives in its scratch memory: copy before touching it.
      const y = r ? r.data.slice(0, x.rows * w.rows) : linearOut(x, w);
      visit(layer, kind, y, x);
      return { rows: x.rows, cols: w.rows, data: y };
    },
  };
}

/**
 * Runs `model` (with optional recipe hooks) on each window and returns every sub-layer output,
 * concatenated over windows, plus statistics of each sub-layer linear's input. All windows must
 * have the same length.
 */
export function captureSublayers(
  model: LoadedModel,
  hooks: ForwardHooks | undefined,
  windows: ArrayLike<number>[],
): CaptureResult {
  const c = model.config;
  const T = windows[0]?.length ?? 0;
  const N = T * windows.length;
  const units: SublayerCapture[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    for (const kind of ['attn', 'ffn'] as const) {
      units.push({
        layer: l,
        kind,
        dim: c.dim,
        y: new Float32Array(N * c.dim),
        input: windows.map(() => emptyStats()),
      });
    }
  }
  let w = 0;
  const h = withSublayerHook(hooks, (layer, kind, y, x) => {
    const u = units[unitIndex(layer, kind)]!;
    u.y.set(y, w * T * c.dim);
    addInputStats(u.input[w]!, x);
  });
  for (; w < windows.length; w++) {
    if (windows[w]!.length !== T)
      throw new Error(`window ${w} has ${windows[w]!.length} tokens, expected ${T}`);
    forward(model, windows[w]!, { hooks: h });
  }
  return { windowLength: T, windows: windows.length, units };
}
