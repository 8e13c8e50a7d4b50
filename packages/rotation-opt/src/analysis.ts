import type { LoadedModel } from '@nq/model';
import { rotateRows } from './cpu/rotate-rows.js';
import { type ClassError, classErrors, findMassive } from './massive.js';
import { randomR1 } from './methods.js';
import { type CapturedInputs, type InputGroup, inputSize } from './pipeline.js';
import { activationSpec, rowQuantizer, type W4A4Format } from './quantizers.js';

/** One row of the massive-activation table: a layer's input group over the calibration tokens. */
export interface MassiveRow {
  layer: number;
  group: InputGroup;
  tokens: number;
  tau: number;
  count: number;
  /** Massive-token counts at other thresholds, for context. */
  countsAt: { tau: number; count: number }[];
  medianInf: number;
  maxRatio: number;
  /** Channels holding the ‖x‖∞ of massive tokens (at most 4). */
  channels: { channel: number; tokens: number }[];
  /** Relative quantization error per class, per format and rotation. */
  errors: Record<W4A4Format, Record<'identity' | 'rh' | 'ro', ClassError>>;
}

export interface MassiveAnalysisOptions {
  tau?: number;
  extraTaus?: number[];
  seed: number;
  groups?: InputGroup[];
  formats?: W4A4Format[];
}

/**
 * Per layer and input (attn = q/k/v input, ffn = gate/up input, down = down_proj input, all with
 * norms fused): massive tokens by the τ rule, and the quantization error of massive vs normal tokens
 * under no rotation, a random Hadamard and a random orthogonal rotation (one of each per size,
 * seeded).
 */
export function analyzeMassive(
  model: LoadedModel,
  captured: CapturedInputs,
  o: MassiveAnalysisOptions,
): MassiveRow[] {
  const tau = o.tau ?? 10;
  const groups = o.groups ?? ['attn', 'ffn', 'down'];
  const formats = o.formats ?? ['int4', 'nvfp4'];
  const rots = new Map<string, Float64Array>();
  const rot = (kind: 'rh' | 'ro', n: number) => {
    const k = `${kind}${n}`;
    if (!rots.has(k)) rots.set(k, randomR1(kind, n, o.seed));
    return rots.get(k)!;
  };
  const rows: MassiveRow[] = [];
  for (let l = 0; l < model.config.nLayers; l++) {
    for (const g of groups) {
      const x = captured.data.get(`${l}.${g}`);
      if (!x) continue;
      const n = inputSize(model, g);
      const T = captured.rows;
      const m = findMassive(x, T, n, { tau });
      const errors = {} as MassiveRow['errors'];
      const views = {
        identity: x,
        rh: rotateRows(x, T, n, rot('rh', n)),
        ro: rotateRows(x, T, n, rot('ro', n)),
      };
      for (const f of formats) {
        const q = rowQuantizer(activationSpec(f), captured.seqLen);
        errors[f] = {
          identity: classErrors(views.identity, T, n, m.mask, q),
          rh: classErrors(views.rh, T, n, m.mask, q),
          ro: classErrors(views.ro, T, n, m.mask, q),
        };
      }
      rows.push({
        layer: l,
        group: g,
        tokens: T,
        tau,
        count: m.count,
        countsAt: (o.extraTaus ?? [5, 3]).map((t) => ({
          tau: t,
          count: findMassive(x, T, n, { tau: t }).count,
        })),
        medianInf: m.medianInf,
        maxRatio: m.maxRatio,
        channels: m.channels.slice(0, 4),
        errors,
      });
    }
  }
  return rows;
}
