import { type Matrix, NqInputError } from '@nq/core';
import { FIRST_IN_GROUP, LINEAR_INPUT_GROUP as GROUP_OF, INPUT_GROUPS, type InputGroup } from '@nq/eval-ppl';
import { gptqQuantize, HessianAccumulator, rtnQuantize } from '@nq/gptq';
import {
  type ForwardHooks,
  forward,
  fuseNorms,
  type GemmFn,
  type LayerWeights,
  type LinearName,
  type LoadedModel,
  normsAreFused,
} from '@nq/model';
import { gemmABt } from '@nq/model/cpu';
import { type BlockOrthogonal, blockToDense } from './cayley.js';
import { activationSpec, rowQuantizer, type W4A4Format, weightSpec } from './quantizers.js';

/*
 * The model side: every linear input group of every layer gets an encoder E and a decoder D,
 *   ŷ = Q_a(x·E) · Q_w(W·Dᵀ)ᵀ   (≡ (Q_a(xE)·D)·Wᵀ when weights are not quantized),
 * with E applied online to the linear's input and D fused into the weight. A rotation R is the codec
 * E = R, D = Rᵀ (weight W·R). Norms are fused first (@nq/model fuseNorms), so the attention and MLP
 * inputs are h/rms(h): a residual rotation R1 shared by the attn and ffn groups of every layer is
 * then the same function as QuaRot's R1 fused into the residual stream (RMSNorm commutes with
 * orthogonal maps), applied here online instead of fused — one code path for rotations and codecs.
 */

// The four linear inputs of a block (q/k/v share one, gate/up share one) and which one each linear
// reads: @nq/eval-ppl's tables, re-exported under the names this package has always used.
export { GROUP_OF, INPUT_GROUPS, type InputGroup };
const LEADER: Record<InputGroup, LinearName> = { attn: 'q', o: 'o', ffn: 'gate', down: 'down' };
const LINEARS: readonly LinearName[] = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'];

/** Encoder/decoder of one input group, dense n × n float32 row-major (z = x·E, x̂ = ẑ·D). */
export interface GroupCodec {
  n: number;
  enc: Float32Array;
  dec: Float32Array;
  label: string;
}

/** Per layer, per group (INPUT_GROUPS order): a codec, or null for none. */
export type CodecPlan = (GroupCodec | null)[][];

export function inputSize(model: LoadedModel, g: InputGroup): number {
  const c = model.config;
  return g === 'down' ? c.hiddenDim : c.dim;
}

/** The codec of an orthogonal R (n × n): E = R, D = Rᵀ. */
export function rotationCodec(r: ArrayLike<number>, n: number, label: string): GroupCodec {
  if (r.length !== n * n)
    throw new NqInputError('r', `has ${r.length} entries, expected ${n * n}`, 'Pass a dense n × n rotation.');
  const enc = Float32Array.from(r);
  const dec = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) dec[j * n + i] = enc[i * n + j]!;
  return { n, enc, dec, label };
}

/** The codec of a trained block encoder / decoder pair. */
export function blockCodec(enc: BlockOrthogonal, dec: BlockOrthogonal, label: string): GroupCodec {
  if (enc.n !== dec.n)
    throw new NqInputError(
      'dec',
      `has n = ${dec.n}, the encoder ${enc.n}`,
      'Pass an encoder and decoder of the same size.',
    );
  return {
    n: enc.n,
    enc: Float32Array.from(blockToDense(enc)),
    dec: Float32Array.from(blockToDense(dec)),
    label,
  };
}

function transposeF32(a: Float32Array, n: number): Float32Array {
  const t = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = a[i * n + j]!;
  return t;
}

function validatePlan(model: LoadedModel, plan: CodecPlan): void {
  if (!Array.isArray(plan) || plan.length !== model.config.nLayers)
    throw new NqInputError(
      'plan',
      `has ${Array.isArray(plan) ? plan.length : 'no'} layers, the model ${model.config.nLayers}`,
      'Give one row of 4 codecs (attn, o, ffn, down; null = none) per layer.',
    );
  plan.forEach((row, l) => {
    if (!Array.isArray(row) || row.length !== 4)
      throw new NqInputError(
        `plan[${l}]`,
        'is not a row of 4 codecs',
        'Give [attn, o, ffn, down] codecs (null = none).',
      );
    row.forEach((c, gi) => {
      const n = inputSize(model, INPUT_GROUPS[gi]!);
      if (c && (c.n !== n || c.enc.length !== n * n || c.dec.length !== n * n))
        throw new NqInputError(
          `plan[${l}][${gi}]`,
          `has size ${c.n}, the ${INPUT_GROUPS[gi]} input is ${n}`,
          'Build the codec for the input size of that linear.',
        );
    });
  });
}

/** Inputs of every group leader (q, o, gate, down) of every layer over the calibration sequences. */
export interface CapturedInputs {
  /** key `${layer}.${group}` → rows × n float32 (rows = total calibration tokens). */
  data: Map<string, Float32Array>;
  rows: number;
  /** Tokens per sequence (for per-window quantization, e.g. NVFP4's global scale). */
  seqLen: number;
}

/** Captures the (fused-norm) inputs of every linear group; `groups` limits which. */
export function captureInputs(
  model: LoadedModel,
  seqs: Int32Array[],
  groups: readonly InputGroup[] = INPUT_GROUPS,
  gemm?: GemmFn,
): CapturedInputs {
  if (seqs.length === 0)
    throw new NqInputError('calibration', 'has no sequences', 'Pass at least one token sequence.');
  const len = seqs[0]!.length;
  if (seqs.some((s) => s.length !== len))
    throw new NqInputError(
      'calibration',
      'sequences differ in length',
      'Use sequences of one length (sampleCalibration does).',
    );
  const m = normsAreFused(model) ? model : fuseNorms(model);
  const rows = seqs.length * len;
  const data = new Map<string, Float32Array>();
  let s = 0;
  const hooks: ForwardHooks = {
    captureLinearInput: (l, name, x) => {
      const g = GROUP_OF[name];
      if (LEADER[g] !== name || !groups.includes(g)) return;
      const key = `${l}.${g}`;
      let buf = data.get(key);
      if (!buf) {
        buf = new Float32Array(rows * x.cols);
        data.set(key, buf);
      }
      buf.set(x.data.subarray(0, len * x.cols), s * len * x.cols);
    },
  };
  for (; s < seqs.length; s++) forward(m, seqs[s]!, { hooks, lastOnly: true, ...(gemm ? { gemm } : {}) });
  return { data, rows, seqLen: len };
}

export interface CodecModelOptions {
  /** Activation format (dynamic fake-quant of every block linear's input); null = full precision. */
  activations: W4A4Format | null;
  /** Weight method: RTN or GPTQ (@nq/gptq) of W·Dᵀ; null = full-precision weights. */
  weights: 'rtn' | 'gptq' | null;
  /** Weight format (default: the activation format, or 'int4'). */
  weightFormat?: W4A4Format;
  /** GPTQ calibration sequences (Hessians of the encoded inputs x·E of the full-precision model). */
  calibration?: Int32Array[];
  gemm?: GemmFn;
}

export interface CodecModel {
  /** Norm-fused model whose block linears hold Q_w(W·Dᵀ). */
  model: LoadedModel;
  /** Online encoders and activation quantizers. */
  hooks: ForwardHooks;
  labels: string[];
  seconds: number;
}

/**
 * Applies a codec plan: fuse norms, fuse every decoder into its weights (W·Dᵀ), quantize them (RTN or
 * GPTQ), and return hooks that encode (x·E) and fake-quantize each linear's input at run time.
 */
export function buildCodecModel(base: LoadedModel, plan: CodecPlan, opts: CodecModelOptions): CodecModel {
  const t0 = performance.now();
  validatePlan(base, plan);
  if (opts.weights === 'gptq' && !opts.calibration?.length)
    throw new NqInputError(
      'calibration',
      'is required for GPTQ weights',
      'Pass calibration token sequences (e.g. from sampleCalibration).',
    );
  if (opts.weights !== null && opts.weights !== 'rtn' && opts.weights !== 'gptq')
    throw new NqInputError('weights', `is ${JSON.stringify(opts.weights)}`, "Use 'rtn', 'gptq' or null.");
  const fused = normsAreFused(base) ? base : fuseNorms(base);
  const c = fused.config;
  const gi = (g: InputGroup) => INPUT_GROUPS.indexOf(g);
  const wFormat = opts.weightFormat ?? opts.activations ?? 'int4';
  const scheme = weightSpec(wFormat);

  // Hessians of the encoded inputs (GPTQ only), from the full-precision fused model.
  let hess: Map<string, { n: number; data: Float64Array }> | null = null;
  if (opts.weights === 'gptq') {
    const accs = new Map<string, HessianAccumulator>();
    const encT = plan.map((row) => row.map((cd) => (cd ? transposeF32(cd.enc, cd.n) : null)));
    let z = new Float32Array(0);
    const hooks: ForwardHooks = {
      captureLinearInput: (l, name, x) => {
        const g = GROUP_OF[name];
        if (LEADER[g] !== name) return;
        const key = `${l}.${g}`;
        let acc = accs.get(key);
        if (!acc) {
          acc = new HessianAccumulator(x.cols);
          accs.set(key, acc);
        }
        const et = encT[l]![gi(g)];
        if (!et) return acc.addRows(x.data, x.rows);
        if (z.length < x.rows * x.cols) z = new Float32Array(x.rows * x.cols);
        const zz = z.subarray(0, x.rows * x.cols);
        (opts.gemm ?? gemmABt)(x.data, x.rows, x.cols, et, x.cols, zz);
        acc.addRows(zz, x.rows);
      },
    };
    for (const s of opts.calibration!)
      forward(fused, s, { hooks, lastOnly: true, ...(opts.gemm ? { gemm: opts.gemm } : {}) });
    hess = new Map([...accs].map(([k, a]) => [k, a.finalize()]));
  }

  const layers: LayerWeights[] = fused.weights.layers.map((L, l) => {
    const out: LayerWeights = { ...L };
    for (const name of LINEARS) {
      const g = GROUP_OF[name];
      const cd = plan[l]![gi(g)];
      let w: Matrix = L[name];
      if (cd) {
        // W' = W·Dᵀ: gemmABt computes W·(D)ᵀ directly.
        const y = new Float32Array(w.rows * w.cols);
        gemmABt(w.data, w.rows, w.cols, cd.dec, cd.n, y);
        w = { rows: w.rows, cols: w.cols, data: y };
      }
      if (opts.weights === 'rtn') w = rtnQuantize(w, scheme).weight;
      else if (opts.weights === 'gptq')
        w = gptqQuantize(w, hess!.get(`${l}.${g}`)!, { scheme, proxyLoss: false }).weight;
      out[name] = w;
    }
    return out;
  });
  const model: LoadedModel = {
    ...fused,
    weights: { ...fused.weights, layers },
    transforms: [...(fused.transforms ?? []), 'rotation-opt:codec'],
  };

  // Online part: encode once per group (at its first linear), quantize, then each linear's GEMM.
  const encT = plan.map((row) => row.map((cd) => (cd ? transposeF32(cd.enc, cd.n) : null)));
  const quant = opts.activations ? rowQuantizer(activationSpec(opts.activations)) : null;
  const xin = new Map<InputGroup, Float32Array>();
  const ys = new Map<LinearName, Float32Array>();
  const grow = <K>(m: Map<K, Float32Array>, k: K, n: number) => {
    let a = m.get(k);
    if (!a || a.length < n) {
      a = new Float32Array(n);
      m.set(k, a);
    }
    return a.subarray(0, n);
  };
  const gemm = opts.gemm ?? gemmABt;
  const hooks: ForwardHooks = {
    replaceLinear: (layer, name, x, w) => {
      const g = GROUP_OF[name];
      const et = encT[layer]![gi(g)];
      if (!et && !quant) return undefined;
      const T = x.rows;
      const K = x.cols;
      const xi = grow(xin, g, T * K);
      if (FIRST_IN_GROUP[name]) {
        if (et) gemm(x.data, T, K, et, K, xi);
        else xi.set(x.data);
        if (quant) quant(xi, T, K, xi);
      }
      const y = grow(ys, name, T * w.rows);
      gemm(xi, T, K, w.data, w.rows, y);
      return { rows: T, cols: w.rows, data: y };
    },
  };
  const labels = plan.flatMap((row, l) =>
    row.map((cd, k) => `L${l}.${INPUT_GROUPS[k]}: ${cd ? cd.label : 'none'}`),
  );
  void c;
  return { model, hooks, labels, seconds: (performance.now() - t0) / 1000 };
}
