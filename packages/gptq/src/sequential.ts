import fs from 'node:fs';
import { type Matrix, NqInputError, Rng } from '@nq/core';
import {
  type ForwardHooks,
  forward,
  type GemmFn,
  type LayerWeights,
  type LinearName,
  type LoadedModel,
  Tokenizer,
} from '@nq/model';
import { defaultWasmGemm } from '@nq/model/cpu';
import {
  type DampingReport,
  type GptqOptions,
  type GptqResult,
  gptqQuantize,
  proxyLoss,
  rtnQuantize,
  type SchemeInput,
} from './cpu/gptq.js';
import { type Hessian, HessianAccumulator } from './cpu/hessian.js';

/*
 * Sequential quantization of a whole model, block by block (as GPTQ's llama.py does): the Hessians
 * of block l come from the inputs that blocks 0..l−1 — already quantized — produce on the
 * calibration sequences. One calibration pass per block (per sub-layer group with trueSequential);
 * each pass stops the forward right after the last input it needs.
 */

/** Calibration: N windows of ctx tokens from a text, start positions drawn with Rng(seed). */
export interface CalibrationText {
  /** Text file (e.g. ../shared/data/docs-calib.txt), encoded whole, no BOS. */
  text: string;
  /** Tokenizer file or instance (SentencePiece .model or llama2.c .bin). */
  tokenizer: string | Tokenizer;
  /** Number of sequences (default 128). */
  sequences?: number;
  /** Tokens per sequence (default 256). */
  ctx?: number;
  seed: number;
}

/**
 * N sequences of ctx tokens: start positions uniform in [0, len − ctx] from Rng(seed) (as GPTQ samples
 * random windows of its calibration set).
 */
export async function sampleCalibration(c: CalibrationText): Promise<Int32Array[]> {
  const n = c.sequences ?? 128;
  const ctx = c.ctx ?? 256;
  if (!Number.isInteger(n) || n < 1)
    throw new NqInputError('calibration.sequences', `must be a positive integer, got ${n}`, 'Use e.g. 128.');
  if (!Number.isInteger(ctx) || ctx < 2)
    throw new NqInputError(
      'calibration.ctx',
      `must be an integer ≥ 2, got ${ctx}`,
      'Use the model context, e.g. 256.',
    );
  if (!Number.isInteger(c.seed) || c.seed < 0)
    throw new NqInputError(
      'calibration.seed',
      `must be a non-negative integer, got ${c.seed}`,
      'Pass e.g. 0.',
    );
  if (!fs.existsSync(c.text))
    throw new NqInputError(
      'calibration.text',
      `file ${c.text} does not exist`,
      'Pass a UTF-8 text file, e.g. ../shared/data/docs-calib.txt.',
    );
  const tok = typeof c.tokenizer === 'string' ? await Tokenizer.fromFile(c.tokenizer) : c.tokenizer;
  const ids = tok.encode(fs.readFileSync(c.text, 'utf8'));
  if (ids.length < ctx)
    throw new NqInputError(
      'calibration.text',
      `encodes to ${ids.length} tokens, fewer than ctx = ${ctx}`,
      'Use a longer text or a smaller ctx.',
    );
  const rng = new Rng(c.seed);
  const out: Int32Array[] = [];
  for (let i = 0; i < n; i++) {
    const s = rng.int(ids.length - ctx + 1);
    out.push(ids.slice(s, s + ctx));
  }
  return out;
}

export interface SequentialProgress {
  layer: number;
  linear: LinearName;
  /** Linears done / total. */
  done: number;
  total: number;
  elapsedSeconds: number;
  proxyLoss: number | null;
  rtnProxyLoss: number | null;
}

export interface LinearReport {
  layer: number;
  linear: LinearName;
  rows: number;
  cols: number;
  /** tr((W−Ŵ)H(W−Ŵ)ᵀ) of the method used, and of RTN with the same scheme (same H). */
  proxyLoss: number;
  rtnProxyLoss: number;
  damping: DampingReport | null;
  deadColumns: number;
  seconds: number;
}

export interface SequentialOptions extends Omit<GptqOptions, 'scheme' | 'proxyLoss'> {
  scheme: SchemeInput;
  /** Token sequences, or a text to sample them from. */
  calibration: Int32Array[] | CalibrationText;
  /** 'gptq' (default) or 'rtn' (same scheme, no error feedback; Hessians still computed for the loss). */
  method?: 'gptq' | 'rtn';
  /**
   * Quantize q/k/v, then o, then gate/up, then down, each from inputs produced by the already
   * quantized sub-layers before it (GPTQ's --true-sequential). Default false: one pass per block,
   * all four inputs captured from the block with its original weights.
   */
  trueSequential?: boolean;
  /** Hooks active during calibration passes (e.g. activation fake-quant); default none. */
  hooks?: ForwardHooks;
  /** A GEMM for the forward pass (e.g. a worker pool's). */
  gemm?: GemmFn;
  /**
   * 'f32-chunks' (default): each sequence's XᵀX by the float32 SIMD GEMM, summed in float64;
   * 'f64': everything in float64 (slower).
   */
  hessianPrecision?: 'f32-chunks' | 'f64';
  /**
   * The per-linear GPTQ solve (default `gptqQuantize`, the cpu backend); e.g. `gptqQuantizeWebGPU`
   * from '@nq/gptq/webgpu' to run the lazy updates on the GPU. Calibration passes and Hessians stay on
   * the cpu either way.
   */
  solver?: (w: Matrix, h: Hessian, opts: GptqOptions) => GptqResult | Promise<GptqResult>;
  /** Keep every linear's full GptqResult (codes, scales) in the result (default false). */
  keepResults?: boolean;
  onProgress?: (p: SequentialProgress) => void;
}

export interface SequentialResult {
  /** A new model whose block linears hold Ŵ (embeddings, norms, classifier untouched). */
  model: LoadedModel;
  linears: LinearReport[];
  /** Per linear, when keepResults (same order as linears). */
  results: GptqResult[] | null;
  calibrationTokens: number;
  seconds: number;
}

const GROUPS: LinearName[][] = [['q', 'k', 'v'], ['o'], ['gate', 'up'], ['down']];
const ALL: LinearName[] = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'];

class StopForward extends Error {}
const STOP = new StopForward('calibration pass done');

/** Runs the calibration sequences through `model`, accumulating the inputs of `layer`'s group leaders. */
function captureHessians(
  model: LoadedModel,
  layer: number,
  leaders: LinearName[],
  seqs: Int32Array[],
  opts: SequentialOptions,
): Map<LinearName, Hessian> {
  const accs = new Map<LinearName, HessianAccumulator>();
  const w = model.weights.layers[layer]!;
  const hgemm = opts.hessianPrecision === 'f64' ? undefined : (opts.gemm ?? defaultWasmGemm()?.gemm);
  for (const name of leaders)
    accs.set(name, new HessianAccumulator(w[name].cols, hgemm ? { gemm: hgemm } : {}));
  const last = leaders[leaders.length - 1]!;
  const user = opts.hooks;
  const hooks: ForwardHooks = {
    ...user,
    captureLinearInput: (l, name, x) => {
      user?.captureLinearInput?.(l, name, x);
      if (l !== layer) return;
      const acc = accs.get(name);
      if (acc) acc.addRows(x.data, x.rows);
      if (name === last) throw STOP;
    },
  };
  for (const ids of seqs) {
    try {
      forward(model, ids, { hooks, lastOnly: true, ...(opts.gemm ? { gemm: opts.gemm } : {}) });
    } catch (e) {
      if (e !== STOP) throw e;
    }
  }
  const out = new Map<LinearName, Hessian>();
  for (const [k, a] of accs) out.set(k, a.finalize());
  return out;
}

/**
 * Quantizes every block linear of `model` with GPTQ (or RTN) block by block. The input model is not
 * modified. Rotations (QuaRot) are applied to the model before calling this: pass the transformed
 * model; its online rotations run inside the forward pass, so the Hessians see rotated inputs.
 */
export async function quantizeModelSequential(
  model: LoadedModel,
  opts: SequentialOptions,
): Promise<SequentialResult> {
  const t0 = performance.now();
  const seqs = Array.isArray(opts.calibration) ? opts.calibration : await sampleCalibration(opts.calibration);
  if (seqs.length === 0)
    throw new NqInputError('calibration', 'has no sequences', 'Pass at least one token sequence.');
  const vocab = model.config.vocabSize;
  for (const s of seqs) {
    if (!(s instanceof Int32Array) || s.length === 0 || s.length > model.config.seqLen) {
      throw new NqInputError(
        'calibration',
        `sequences must be non-empty Int32Arrays of at most ${model.config.seqLen} tokens`,
        'Sample with sampleCalibration() or slice the token ids.',
      );
    }
    for (let i = 0; i < s.length; i++)
      if (s[i]! < 0 || s[i]! >= vocab)
        throw new NqInputError(
          'calibration',
          `holds token ${s[i]} outside the vocabulary (${vocab})`,
          "Use the model's tokenizer.",
        );
  }
  const method = opts.method ?? 'gptq';
  if (method !== 'gptq' && method !== 'rtn')
    throw new NqInputError('method', `must be 'gptq' or 'rtn', got ${JSON.stringify(method)}`, "Use 'gptq'.");
  // A working copy: fresh layer objects so that replacing a weight never touches the input model.
  const layers: LayerWeights[] = model.weights.layers.map((L) => ({ ...L }));
  const work: LoadedModel = {
    ...model,
    weights: { ...model.weights, layers },
    transforms: [...(model.transforms ?? []), `gptq:${method}`],
  };
  const groups = opts.trueSequential ? GROUPS : [ALL];
  const total = layers.length * ALL.length;
  const linears: LinearReport[] = [];
  const results: GptqResult[] | null = opts.keepResults ? [] : null;
  const { solver: _solver, ...rest } = opts;
  const gopts: GptqOptions = { ...rest, proxyLoss: false };
  for (let l = 0; l < layers.length; l++) {
    for (const group of groups) {
      const leaders = group === ALL ? (['q', 'o', 'gate', 'down'] as LinearName[]) : [group[0]!];
      const hs = captureHessians(work, l, leaders, seqs, opts);
      for (const name of group) {
        const leader = name === 'k' || name === 'v' ? 'q' : name === 'up' ? 'gate' : name;
        const h = hs.get(leader)!;
        const w = layers[l]![name];
        const t1 = performance.now();
        const rtn = rtnQuantize(w, opts.scheme);
        let res: GptqResult | null = null;
        let wq = rtn.weight;
        if (method === 'gptq') {
          res = opts.solver ? await opts.solver(w, h, gopts) : gptqQuantize(w, h, gopts);
          wq = res.weight;
        }
        const rep: LinearReport = {
          layer: l,
          linear: name,
          rows: w.rows,
          cols: w.cols,
          proxyLoss: proxyLoss(w, wq, h),
          rtnProxyLoss: proxyLoss(w, rtn.weight, h),
          damping: res ? res.damping : null,
          deadColumns: res ? res.deadColumns : 0,
          seconds: (performance.now() - t1) / 1000,
        };
        linears.push(rep);
        if (results && res) results.push(res);
        layers[l]![name] = wq;
        opts.onProgress?.({
          layer: l,
          linear: name,
          done: linears.length,
          total,
          elapsedSeconds: (performance.now() - t0) / 1000,
          proxyLoss: rep.proxyLoss,
          rtnProxyLoss: rep.rtnProxyLoss,
        });
      }
    }
  }
  let tokens = 0;
  for (const s of seqs) tokens += s.length;
  return {
    model: work,
    linears,
    results,
    calibrationTokens: tokens,
    seconds: (performance.now() - t0) / 1000,
  };
}
