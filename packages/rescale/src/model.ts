import { NqInputError } from '@nq/core';
import { cloneModel, type ForwardHooks, forward, type LinearName, type LoadedModel } from '@nq/model';
import { type ChannelStats, ChannelStatsAccumulator, checkCalibrationArgs } from './channel-stats.js';
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

export type { ChannelStats } from './channel-stats.js';

/**
 * Statistics of every rescalable input of every block, from one forward pass per calibration
 * sequence through `model` (run it on the FP model: AWQ and SmoothQuant calibrate on FP activations).
 */
export function collectInputStats(
  model: LoadedModel,
  seqs: readonly Int32Array[],
  opts: { keepRows?: number } = {},
): Record<RescaleInput, ChannelStats>[] {
  const keep = checkCalibrationArgs(seqs, opts);
  const L = model.weights.layers;
  const accs = L.map((l) => ({
    attn: new ChannelStatsAccumulator(l.q.cols, keep),
    ffn: new ChannelStatsAccumulator(l.gate.cols, keep),
    down: new ChannelStatsAccumulator(l.down.cols, keep),
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
