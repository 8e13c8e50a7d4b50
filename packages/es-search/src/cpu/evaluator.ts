import { type Matrix, NqInputError } from '@nq/core';
import { type CompiledRotation, compileRotation, type RotationSpec } from '@nq/hadamard';
import { rotate } from '@nq/hadamard/cpu';
import { defaultWasmGemm, type GemmFn, gemmABt } from '@nq/model/cpu';
import { checkEvaluatorOperands } from '../evaluator-operands.js';
import type { QuantTarget } from '../types.js';
import { errorSums, fakeQuantRowsSym } from './quant-error.js';

let gemmCached: GemmFn | undefined;
/** The forward pass's GEMM (WebAssembly SIMD where available, float32 accumulation; else the JS kernel). */
function fastGemm(): GemmFn {
  gemmCached ??= defaultWasmGemm()?.gemm ?? gemmABt;
  return gemmCached;
}

/** Bits of the activation (and weight) quantizer of each target. */
export const TARGET_BITS: Record<QuantTarget, number> = { int8: 8, int4: 4, w4a4: 4 };

/**
 * The quantization error of a rotation R on one layer's data — the α term of the cost:
 *
 * - `int8` / `int4`: relative MSE of per-token symmetric fake-quant of X·R:
 *   Σ‖Q(x·R) − x·R‖² / Σ‖x·R‖² over all tokens.
 * - `w4a4`: relative GEMM error with the layer's weights W (out × k):
 *   Σ(Ŷ − Y)² / ΣY², Y = X·Wᵀ, Ŷ = Q4(X·R)·Q4(W·R)ᵀ (activations per token, weights per output row,
 *   both 4-bit symmetric: eval-ppl's w4a4-rtn-token quantizers).
 *
 * Scratch buffers are made once here; evaluating a candidate allocates nothing proportional to the
 * data. `errors()` takes a whole batch of candidates per call.
 */
export class CpuErrorEvaluator {
  readonly target: QuantTarget;
  readonly dim: number;
  readonly tokens: number;
  private readonly x: Matrix;
  private readonly w: Matrix | null;
  private readonly xr: Matrix;
  private readonly wr: Matrix | null;
  private readonly y: Float32Array | null;
  private readonly yq: Float32Array | null;
  /** Fresh error evaluations made so far. */
  evaluations = 0;

  constructor(x: Matrix, w: Matrix | null | undefined, target: QuantTarget) {
    const wChecked = checkEvaluatorOperands(x, target, w);
    this.target = target;
    this.x = x;
    this.dim = x.cols;
    this.tokens = x.rows;
    this.xr = { rows: x.rows, cols: x.cols, data: new Float32Array(x.rows * x.cols) };
    if (wChecked) {
      const wt = wChecked;
      this.w = wt;
      this.wr = { rows: wt.rows, cols: wt.cols, data: new Float32Array(wt.rows * wt.cols) };
      this.y = new Float32Array(x.rows * wt.rows);
      fastGemm()(x.data, x.rows, x.cols, wt.data, wt.rows, this.y);
      this.yq = new Float32Array(x.rows * wt.rows);
    } else {
      this.w = null;
      this.wr = null;
      this.y = null;
      this.yq = null;
    }
  }

  /** The relative error of one rotation (see the class comment). */
  error(spec: RotationSpec | CompiledRotation): number {
    const rot =
      'spec' in spec && 'stages' in spec && (spec as CompiledRotation).spec
        ? (spec as CompiledRotation)
        : compileRotation(spec as RotationSpec);
    if (rot.dim !== this.dim) {
      throw new NqInputError(
        'spec.dim',
        `is ${rot.dim} but the data has ${this.dim} channels`,
        'Search rotations of the layer input size.',
      );
    }
    this.evaluations++;
    const bits = TARGET_BITS[this.target];
    rotate(this.x, rot, { out: this.xr, checkFinite: false });
    const a = fakeQuantRowsSym(this.xr.data, this.xr.rows, this.xr.cols, bits);
    if (this.target !== 'w4a4') return a.signal === 0 ? 0 : a.sse / a.signal;
    const w = this.w!;
    const wr = this.wr!;
    rotate(w, rot, { out: wr, checkFinite: false });
    fakeQuantRowsSym(wr.data, wr.rows, wr.cols, bits);
    fastGemm()(this.xr.data, this.xr.rows, this.xr.cols, wr.data, wr.rows, this.yq!);
    const g = errorSums(this.yq!, this.y!, this.y!.length);
    return g.signal === 0 ? 0 : g.sse / g.signal;
  }

  /** Errors of a batch of candidates, in order (one call per generation in the search). */
  errors(specs: readonly (RotationSpec | CompiledRotation)[]): Float64Array {
    const out = new Float64Array(specs.length);
    for (let i = 0; i < specs.length; i++) out[i] = this.error(specs[i]!);
    return out;
  }
}
