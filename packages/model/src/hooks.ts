import type { Matrix } from '@nq/core';
import type { LinearName } from './types.js';

/**
 * Hooks into the forward pass — how GPTQ, activation statistics, fake-quant and online rotations
 * plug into nq's model without forking it. Pass them as `forward(model, tokens, { hooks })`.
 *
 * Buffers passed to hooks are the forward pass's scratch memory: read them (or modify them where a
 * hook says so) during the call, copy what you keep (`x.data.slice()`). On the SIMD CPU path they are
 * views of the GEMM engine's shared WebAssembly memory: their `.buffer` is that whole memory (mind
 * `byteOffset`), and posting one to a worker shares it rather than copying it.
 */
export interface ForwardHooks {
  /**
   * (a) Sees the input of every linear, [T, in], before the linear runs: q, k and v receive the same
   * normed attention input, gate and up the same normed MLP input, o the attention output, down the
   * SwiGLU output (after any online rotation: what down_proj consumes). Typical use: GPTQ Hessians
   * H += XᵀX, activation statistics. Do not modify `x`.
   */
  captureLinearInput?: (layer: number, name: LinearName, x: Matrix) => void;

  /**
   * (b) Replaces how a linear computes Y = X·Wᵀ. Return a [T, out] Matrix to use instead, or
   * `undefined` to let the default GEMM run. `x` is [T, in], `w` is [out, in] (the model's weight).
   * Typical use: fake-quantize activations and/or weights, then compute X'·W'ᵀ.
   * Runs after `captureLinearInput` for the same linear. Do not modify `x` or `w`.
   */
  replaceLinear?: (layer: number, name: LinearName, x: Matrix, w: Matrix) => Matrix | undefined;

  /**
   * (c) KV-cache quantization: called on each new K row (after RoPE) and V row, one call per KV
   * head and position, before attention reads it; modify `row` (length headDim) in place, e.g.
   * quantize-dequantize to 4 bits. Cached rows are quantized once, when they are written.
   */
  quantizeKv?: (layer: number, kind: 'k' | 'v', head: number, position: number, row: Float32Array) => void;
}
