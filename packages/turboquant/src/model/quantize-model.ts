import { NqInputError } from '@nq/core';
import { type Hessian, HessianAccumulator } from '@nq/gptq';
import {
  cloneModel,
  type ForwardHooks,
  forward,
  LINEAR_NAMES,
  type LinearName,
  type LoadedModel,
} from '@nq/model';
import { defaultWasmGemm } from '@nq/model/cpu';
import { turboquantTensorBits } from '../bits.js';
import { turboquantFakeQuant } from '../cpu/turboquant.js';
import { gptqTurboQuant } from '../gptq-scheme.js';
import { resolveTurboQuantSpec, type TurboQuantSpec } from '../spec.js';

/*
 * Model-level TurboQuant: every linear of every transformer block (q k v o gate up down) is coded;
 * embeddings, norms and the classifier stay float32 (and are counted as such in the bits).
 */

export interface TurboQuantModelOptions {
  spec: TurboQuantSpec;
  /** 'rtn' (fake-quant each weight alone) or 'gptq' (GPTQ with the TurboQuant inner scheme). */
  method: 'rtn' | 'gptq';
  /** GPTQ only: calibration token sequences. */
  calibration?: Int32Array[];
  actOrder?: boolean;
  dampPercent?: number;
}

/** Which captured input feeds which linear (q/k/v share the attention input, gate/up the MLP input). */
const INPUT_OF: Record<LinearName, LinearName> = {
  q: 'q',
  k: 'q',
  v: 'q',
  o: 'o',
  gate: 'gate',
  up: 'gate',
  down: 'down',
};

class StopForward extends Error {}

/** Hessians H = 2XᵀX/N of the four distinct inputs of block `layer`, from `model` as it is now. */
export function captureBlockHessians(
  model: LoadedModel,
  layer: number,
  seqs: Int32Array[],
): Map<LinearName, Hessian> {
  const L = model.weights.layers[layer]!;
  const wasm = defaultWasmGemm();
  const accs = new Map<LinearName, HessianAccumulator>();
  for (const name of ['q', 'o', 'gate', 'down'] as const)
    accs.set(name, new HessianAccumulator(L[name].cols, wasm ? { gemm: wasm.gemm } : {}));
  const stop = new StopForward();
  const hooks: ForwardHooks = {
    captureLinearInput: (l, name, x) => {
      if (l !== layer) return;
      accs.get(name)?.addRows(x.data, x.rows);
      if (name === 'down') throw stop;
    },
  };
  for (const ids of seqs) {
    try {
      forward(model, ids, { hooks, lastOnly: true });
    } catch (e) {
      if (e !== stop) throw e;
    }
  }
  const out = new Map<LinearName, Hessian>();
  for (const [k, a] of accs) out.set(k, a.finalize());
  return out;
}

/**
 * A new model whose block linears hold the TurboQuant-decoded weights. GPTQ runs block by block:
 * block l's Hessians are captured from the model whose blocks < l are already quantized (inputs of
 * the four sub-layers of block l all from its original weights — GPTQ without --true-sequential).
 */
export function quantizeModelTurboQuant(model: LoadedModel, opts: TurboQuantModelOptions): LoadedModel {
  const spec = resolveTurboQuantSpec(opts.spec, 'opts.spec');
  if (opts.method !== 'rtn' && opts.method !== 'gptq')
    throw new NqInputError(
      'opts.method',
      `must be 'rtn' or 'gptq', got ${String(opts.method)}`,
      "Use method: 'rtn' or 'gptq'.",
    );
  if (opts.method === 'gptq' && (!opts.calibration || opts.calibration.length === 0)) {
    throw new NqInputError(
      'opts.calibration',
      'is required for GPTQ',
      'Pass token sequences, e.g. from @nq/gptq sampleCalibration().',
    );
  }
  const m = cloneModel(model);
  m.weights.layers.forEach((L, l) => {
    const hs = opts.method === 'gptq' ? captureBlockHessians(m, l, opts.calibration!) : null;
    for (const name of LINEAR_NAMES) {
      const label = `L${l}.${name}`;
      if (hs) {
        const r = gptqTurboQuant(L[name], hs.get(INPUT_OF[name])!, {
          spec,
          label,
          actOrder: opts.actOrder ?? false,
          dampPercent: opts.dampPercent ?? 0.01,
          proxyLoss: false,
        });
        L[name] = r.weight;
      } else {
        L[name] = turboquantFakeQuant(L[name], spec, label);
      }
    }
  });
  m.transforms = [
    ...(m.transforms ?? []),
    `turboquant-${opts.method}(${JSON.stringify(spec)}${opts.method === 'gptq' ? `, actOrder=${opts.actOrder ?? false}` : ''})`,
  ];
  return m;
}

export interface ModelBits {
  /** Bits of the quantized block linears (codes + scales + codebooks + signs). */
  linearBits: number;
  linearParams: number;
  /** Float32 tensors kept as they are: embeddings, norms, classifier. */
  keptBits: number;
  keptParams: number;
  /** (linear + kept bits) / all parameters. */
  bitsPerParameter: number;
  /** linear bits / linear parameters (the figure usually quoted: "4.25 bits"). */
  linearBitsPerParameter: number;
}

/**
 * Honest bits per parameter of a model with its block linears stored by `linearBits(rows, cols,
 * layer, name)` bits each and everything else (token embedding, RMSNorm scales, classifier) kept in
 * float32.
 */
export function modelBits(
  model: LoadedModel,
  linearBits: (rows: number, cols: number, layer: number, name: LinearName) => number,
): ModelBits {
  const w = model.weights;
  let linearB = 0;
  let linearP = 0;
  let keptP = w.tokenEmbedding.data.length + w.finalNorm.length + w.output.data.length;
  w.layers.forEach((L, l) => {
    keptP += L.attnNorm.length + L.ffnNorm.length;
    for (const name of LINEAR_NAMES) {
      const t = L[name];
      linearB += linearBits(t.rows, t.cols, l, name);
      linearP += t.rows * t.cols;
    }
  });
  const keptB = keptP * 32;
  return {
    linearBits: linearB,
    linearParams: linearP,
    keptBits: keptB,
    keptParams: keptP,
    bitsPerParameter: (linearB + keptB) / (linearP + keptP),
    linearBitsPerParameter: linearB / linearP,
  };
}

/** Bits of a model quantized by quantizeModelTurboQuant with `spec`. */
export function turboquantModelBits(model: LoadedModel, spec: TurboQuantSpec): ModelBits {
  return modelBits(model, (rows, cols) => turboquantTensorBits(rows, cols, spec).total);
}
