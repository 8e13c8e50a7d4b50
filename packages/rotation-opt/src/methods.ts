import { NqInputError, Rng } from '@nq/core';
import { randomHadamard, randomOrthogonal, toDense } from '@nq/hadamard';
import type { GemmFn, LoadedModel } from '@nq/model';
import { type AdaCodecOptions, type AdaCodecResult, trainAdaCodec } from './adacodec.js';
import { type DfrotResult, refineDfrot } from './dfrot.js';
import { findMassive, tokenWeights } from './massive.js';
import {
  blockCodec,
  type CapturedInputs,
  type CodecPlan,
  type GroupCodec,
  INPUT_GROUPS,
  type InputGroup,
  inputSize,
  rotationCodec,
} from './pipeline.js';
import { activationSpec, type RowQuantizer, rowQuantizer, type W4A4Format } from './quantizers.js';
import { surrogateFor } from './surrogate.js';

/**
 * The four ways of choosing the encoders/decoders compared in this package, as codec plans:
 * - 'none':     no rotation anywhere (plain W4A4);
 * - 'ro':       R1 (shared by the attn and ffn inputs of every layer) Haar-random orthogonal;
 * - 'rh':       R1 random Hadamard;
 * - 'dfrot':    R1 refined by DFRot from a random Hadamard (or RO) init on the calibration inputs of
 *               every attn/ffn group, massive tokens weighted by γ;
 * - 'adacodec': per layer, a trained block-diagonal encoder/decoder for the attn and ffn inputs.
 * In all but 'none', the o and down inputs get a per-layer random Hadamard (QuaRot's R4 analogue),
 * so the methods differ only where the residual stream is quantized.
 */
export type Method = 'none' | 'ro' | 'rh' | 'dfrot' | 'adacodec';
export const METHODS: readonly Method[] = ['none', 'ro', 'rh', 'dfrot', 'adacodec'];

export interface MethodOptions {
  method: Method;
  /** Activation format the rotation is optimised for. */
  format: W4A4Format;
  seed: number;
  /** Massive-token rule τ (default 10) and weight γ (default 100) for DFRot and AdaCodec. */
  tau?: number;
  gamma?: number;
  dfrot?: { iterations?: number; init?: 'rh' | 'ro' };
  /** AdaCodec settings; unset ones take adaCodecDefaults(format). */
  adacodec?: Omit<AdaCodecOptions, 'weights' | 'seed' | 'onIteration'>;
  log?: (msg: string) => void;
  /** Float32 GEMM for DFRot's large products (e.g. defaultWasmGemm()?.gemm). */
  gemm?: GemmFn;
}

export interface MethodReport {
  method: Method;
  format: W4A4Format;
  /** Seconds spent optimising (DFRot refinement / AdaCodec training only), 0 for random rotations. */
  seconds: number;
  /** Seconds to build the whole plan (also the random rotations, incl. the o/down Hadamards). */
  planSeconds: number;
  /** DFRot: one loss curve; AdaCodec: one per trained group (`${layer}.${group}`). */
  curves: { key: string; loss: number[]; best: number }[];
  massiveTokens: number;
}

function seedOf(seed: number, label: string): number {
  return new Rng(seed).fork(label).nextU32();
}

/** Dense float64 R1 of the random kinds. */
export function randomR1(kind: 'rh' | 'ro', n: number, seed: number): Float64Array {
  const s = seedOf(seed, `R1.${kind}`);
  const dense = toDense(kind === 'rh' ? randomHadamard(n, s) : randomOrthogonal(n, s)).data;
  if (kind === 'rh') {
    // ±1/√n exactly (toDense is float32).
    const mag = 1 / Math.sqrt(n);
    return Float64Array.from(dense, (v) => Math.sign(v) * mag);
  }
  return Float64Array.from(dense);
}

/**
 * AdaCodec's defaults per format (README "AdaCodec: why plain STE barely trains"). Encoder: the
 * expected-error surrogate (INT4: the per-token max; NVFP4: 16-element blocks), Cayley momentum 0.9,
 * lr 0.1 (INT4) / 0.05 (NVFP4). Decoder: INT4 the exact block Procrustes fit; NVFP4 tied (D = Eᵀ) —
 * there the Procrustes decoder lowers the calibration loss but raises it on held-out tokens.
 */
export function adaCodecDefaults(format: W4A4Format): AdaCodecOptions {
  return format === 'int4'
    ? {
        block: 64,
        iterations: 60,
        gradient: 'expected',
        surrogate: surrogateFor('int4'),
        momentum: 0.9,
        lr: 0.1,
        decoder: 'procrustes',
      }
    : {
        block: 64,
        iterations: 60,
        gradient: 'expected',
        surrogate: surrogateFor('nvfp4'),
        momentum: 0.9,
        lr: 0.05,
        decoder: 'tied',
      };
}

/** One optimisation a plan needs; a backend runs it (planSteps below). */
export type PlanJob =
  | {
      kind: 'dfrot';
      x: Float32Array;
      rows: number;
      n: number;
      init: Float64Array;
      weights: Float64Array;
      iterations: number;
      quantize: RowQuantizer;
      onIteration: (it: number, loss: number) => void;
    }
  | {
      kind: 'adacodec';
      key: string;
      x: Float32Array;
      rows: number;
      n: number;
      quantize: RowQuantizer;
      opts: AdaCodecOptions;
    };

/** Builds the codec plan of a method from captured calibration inputs (captureInputs), on the CPU. */
export function buildPlan(
  model: LoadedModel,
  captured: CapturedInputs,
  o: MethodOptions,
): { plan: CodecPlan; report: MethodReport } {
  const steps = planSteps(model, captured, o);
  let r = steps.next();
  while (!r.done) {
    const job = r.value;
    r =
      job.kind === 'dfrot'
        ? steps.next(
            refineDfrot(job.x, job.rows, job.n, job.init, job.quantize, {
              iterations: job.iterations,
              weights: job.weights,
              ...(o.gemm ? { gemm: o.gemm } : {}),
              onIteration: job.onIteration,
            }),
          )
        : steps.next(trainAdaCodec(job.x, job.rows, job.n, job.quantize, job.opts));
  }
  return r.value;
}

/**
 * The plan as a generator: yields each optimisation job and takes its result back, so the same
 * plan logic serves the synchronous cpu driver (buildPlan) and async GPU drivers (buildPlanWebGPU).
 */
export function* planSteps(
  model: LoadedModel,
  captured: CapturedInputs,
  o: MethodOptions,
): Generator<PlanJob, { plan: CodecPlan; report: MethodReport }, DfrotResult | AdaCodecResult> {
  const t0 = performance.now();
  const c = model.config;
  const L = c.nLayers;
  const n = c.dim;
  const log = o.log ?? (() => {});
  const quant = rowQuantizer(activationSpec(o.format), captured.seqLen);
  const tau = o.tau ?? 10;
  const gamma = o.gamma ?? 100;
  const report: MethodReport = {
    method: o.method,
    format: o.format,
    planSeconds: 0,
    seconds: 0,
    curves: [],
    massiveTokens: 0,
  };
  if (!(METHODS as readonly string[]).includes(o.method))
    throw new NqInputError('method', `is ${JSON.stringify(o.method)}`, `Use one of ${METHODS.join(', ')}.`);
  const need = (l: number, g: InputGroup) => {
    const x = captured.data.get(`${l}.${g}`);
    if (!x)
      throw new NqInputError(
        'captured',
        `has no inputs for layer ${l} group ${g}`,
        'Capture all groups with captureInputs(model, seqs).',
      );
    return x;
  };
  const r4 = (l: number, g: InputGroup): GroupCodec => {
    const m = inputSize(model, g);
    return rotationCodec(randomR1('rh', m, seedOf(o.seed, `L${l}.${g}`)), m, `RH${m}`);
  };
  const plan: CodecPlan = [];
  if (o.method === 'none') {
    for (let l = 0; l < L; l++) plan.push([null, null, null, null]);
    return { plan, report };
  }
  let shared: GroupCodec | null = null;
  if (o.method === 'ro' || o.method === 'rh')
    shared = rotationCodec(randomR1(o.method, n, o.seed), n, `R1 ${o.method.toUpperCase()}`);
  if (o.method === 'dfrot') {
    // Stack every attn/ffn input matrix; the massive rule is applied per matrix.
    const rows = captured.rows;
    const x = new Float32Array(2 * L * rows * n);
    const w = new Float64Array(2 * L * rows);
    let k = 0;
    for (let l = 0; l < L; l++) {
      for (const g of ['attn', 'ffn'] as const) {
        const xg = need(l, g);
        x.set(xg, k * rows * n);
        const m = findMassive(xg, rows, n, { tau });
        report.massiveTokens += m.count;
        w.set(tokenWeights(m.mask, gamma), k * rows);
        k++;
      }
    }
    const init = randomR1(o.dfrot?.init ?? 'rh', n, o.seed);
    const res = (yield {
      kind: 'dfrot',
      x,
      rows: 2 * L * rows,
      n,
      init,
      weights: w,
      iterations: o.dfrot?.iterations ?? 20,
      quantize: quant,
      onIteration: (it, l) => log(`dfrot ${o.format} it ${it} loss ${l.toExponential(4)}`),
    }) as DfrotResult;
    report.curves.push({ key: 'R1', loss: res.loss, best: res.best });
    report.seconds += res.seconds;
    shared = rotationCodec(res.r, n, `R1 DFRot(${o.dfrot?.init ?? 'rh'}, γ=${gamma}, τ=${tau})`);
  }
  for (let l = 0; l < L; l++) {
    const row: (GroupCodec | null)[] = [];
    for (const g of INPUT_GROUPS) {
      if (g === 'o' || g === 'down') row.push(r4(l, g));
      else if (shared) row.push(shared);
      else {
        const xg = need(l, g);
        const m = findMassive(xg, captured.rows, n, { tau });
        report.massiveTokens += m.count;
        const res = (yield {
          kind: 'adacodec',
          key: `${l}.${g}`,
          x: xg,
          rows: captured.rows,
          n,
          quantize: quant,
          opts: {
            ...adaCodecDefaults(o.format),
            ...o.adacodec,
            seed: seedOf(o.seed, `L${l}.${g}.adacodec`),
            weights: tokenWeights(m.mask, gamma),
          },
        }) as AdaCodecResult;
        log(
          `adacodec ${o.format} L${l}.${g}: loss ${res.loss[0]!.toExponential(4)} → ${res.loss[res.best]!.toExponential(4)} (${res.seconds.toFixed(1)} s)`,
        );
        report.curves.push({ key: `${l}.${g}`, loss: res.loss, best: res.best });
        report.seconds += res.seconds;
        row.push(blockCodec(res.enc, res.dec, `AdaCodec b=${res.enc.block}`));
      }
    }
    plan.push(row);
  }
  report.planSeconds = (performance.now() - t0) / 1000;
  return { plan, report };
}
