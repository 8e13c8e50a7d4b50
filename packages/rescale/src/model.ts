import { type Matrix, NqInputError } from '@nq/core';
import { cloneModel, type ForwardHooks, forward, type LinearName, type LoadedModel } from '@nq/model';
import { checkScales, scaleWeight } from './rules.js';

/*
 * Model-level rescaling of nq's LLaMA blocks. Three inputs can be rescaled and FOLDED into the
 * model (no extra work at inference, no extra bits):
 *  - 'attn' (read by q, k, v):  RMSNorm scale g ← g / s,  W ← W·diag(s) for q, k, v;
 *  - 'ffn'  (read by gate, up): RMSNorm scale g ← g / s,  W ← W·diag(s) for gate, up;
 *  - 'down' (read by down):     row j of up ← row j / s_j (SwiGLU h_j = silu(gate_j)·up_j is linear
 *                               in up_j), down ← down·diag(s).
 * o_proj's input (the attention output) is not rescaled: with grouped-query attention its channels
 * map onto v's rows shared by several query heads, so only head-group-tied scales would fold; not
 * implemented (it would need an online diag(1/s)).
 */

export type RescaleInput = 'attn' | 'ffn' | 'down';
export const RESCALE_INPUTS: readonly RescaleInput[] = ['attn', 'ffn', 'down'];
/** The linear whose captured input is each rescale input, and the linears that read it. */
export const INPUT_LEADER: Record<RescaleInput, LinearName> = { attn: 'q', ffn: 'gate', down: 'down' };
export const INPUT_READERS: Record<RescaleInput, readonly LinearName[]> = {
  attn: ['q', 'k', 'v'],
  ffn: ['gate', 'up'],
  down: ['down'],
};

export type LayerScales = Partial<Record<RescaleInput, Float32Array>>;

/** Per-channel statistics of one input over the calibration tokens. */
export interface ChannelStats {
  maxAbs: Float32Array;
  meanAbs: Float64Array;
  /** mean x_j² = diagonal of XᵀX/N. */
  meanSq: Float64Array;
  count: number;
  /** The first `keepRows` calibration rows of the input (for AWQ's search), tokens × channels. */
  rows: Matrix | null;
}

class Acc {
  readonly maxAbs: Float32Array;
  readonly sumAbs: Float64Array;
  readonly sumSq: Float64Array;
  count = 0;
  kept = 0;
  readonly rows: Float32Array;
  constructor(
    readonly n: number,
    readonly keep: number,
  ) {
    this.maxAbs = new Float32Array(n);
    this.sumAbs = new Float64Array(n);
    this.sumSq = new Float64Array(n);
    this.rows = new Float32Array(keep * n);
  }
  add(x: Matrix): void {
    const n = this.n;
    for (let t = 0; t < x.rows; t++) {
      const o = t * n;
      for (let j = 0; j < n; j++) {
        const v = x.data[o + j]!;
        const a = Math.abs(v);
        if (a > this.maxAbs[j]!) this.maxAbs[j] = a;
        this.sumAbs[j] += a;
        this.sumSq[j] += v * v;
      }
      if (this.kept < this.keep) this.rows.set(x.data.subarray(o, o + n), this.kept++ * n);
    }
    this.count += x.rows;
  }
  finish(): ChannelStats {
    const c = Math.max(this.count, 1);
    return {
      maxAbs: this.maxAbs,
      meanAbs: this.sumAbs.map((v) => v / c),
      meanSq: this.sumSq.map((v) => v / c),
      count: this.count,
      rows:
        this.kept > 0
          ? { rows: this.kept, cols: this.n, data: this.rows.slice(0, this.kept * this.n) }
          : null,
    };
  }
}

/**
 * Statistics of every rescalable input of every block, from one forward pass per calibration
 * sequence through `model` (run it on the FP model: AWQ and SmoothQuant calibrate on FP activations).
 */
export function collectInputStats(
  model: LoadedModel,
  seqs: readonly Int32Array[],
  opts: { keepRows?: number } = {},
): Record<RescaleInput, ChannelStats>[] {
  if (!Array.isArray(seqs) || seqs.length === 0)
    throw new NqInputError(
      'seqs',
      'must be a non-empty array of token sequences',
      'Pass calibration sequences, e.g. from @nq/gptq sampleCalibration().',
    );
  const keep = opts.keepRows ?? 0;
  if (!Number.isInteger(keep) || keep < 0)
    throw new NqInputError(
      'opts.keepRows',
      `must be a non-negative integer, got ${keep}`,
      'Use e.g. 2048 for AWQ.',
    );
  const L = model.weights.layers;
  const accs = L.map((l) => ({
    attn: new Acc(l.q.cols, keep),
    ffn: new Acc(l.gate.cols, keep),
    down: new Acc(l.down.cols, keep),
  }));
  const byLeader: Partial<Record<LinearName, RescaleInput>> = { q: 'attn', gate: 'ffn', down: 'down' };
  const hooks: ForwardHooks = {
    captureLinearInput: (layer, name, x) => {
      const input = byLeader[name];
      if (input) accs[layer]![input].add(x);
    },
  };
  for (const ids of seqs) forward(model, ids, { hooks, lastOnly: true });
  return accs.map((a) => ({ attn: a.attn.finish(), ffn: a.ffn.finish(), down: a.down.finish() }));
}

/**
 * A new model with the rescales folded in (see the top of this file). The FP function is unchanged
 * (to float32 rounding). `scales[l][input]` may be missing (no rescale there).
 */
export function foldRescale(model: LoadedModel, scales: readonly LayerScales[]): LoadedModel {
  if (!Array.isArray(scales) || scales.length !== model.weights.layers.length) {
    throw new NqInputError(
      'scales',
      `must have one entry per layer (${model.weights.layers.length}), got ${Array.isArray(scales) ? scales.length : typeof scales}`,
      'Pass [] entries as {} where a layer is not rescaled.',
    );
  }
  const m = cloneModel(model);
  m.weights.layers.forEach((L, l) => {
    const sc = scales[l]!;
    if (sc.attn) {
      checkScales(sc.attn, L.q.cols, `scales[${l}].attn`);
      for (let j = 0; j < sc.attn.length; j++) L.attnNorm[j] = L.attnNorm[j]! / sc.attn[j]!;
      L.q = scaleWeight(L.q, sc.attn);
      L.k = scaleWeight(L.k, sc.attn);
      L.v = scaleWeight(L.v, sc.attn);
    }
    if (sc.ffn) {
      checkScales(sc.ffn, L.gate.cols, `scales[${l}].ffn`);
      for (let j = 0; j < sc.ffn.length; j++) L.ffnNorm[j] = L.ffnNorm[j]! / sc.ffn[j]!;
      L.gate = scaleWeight(L.gate, sc.ffn);
      L.up = scaleWeight(L.up, sc.ffn);
    }
    if (sc.down) {
      checkScales(sc.down, L.down.cols, `scales[${l}].down`);
      const up = L.up;
      for (let j = 0; j < up.rows; j++) {
        const inv = 1 / sc.down[j]!;
        for (let c = 0; c < up.cols; c++) up.data[j * up.cols + c] = up.data[j * up.cols + c]! * inv;
      }
      L.down = scaleWeight(L.down, sc.down);
    }
  });
  m.transforms = [...(m.transforms ?? []), 'rescale'];
  return m;
}
