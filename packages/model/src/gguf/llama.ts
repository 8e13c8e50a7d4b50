// LLaMA models <-> GGUF: the llama.* metadata keys and tensor names of llama.cpp's llama
// architecture, mapped onto nq's ModelConfig / ModelWeights. GGUF llama stores q/k rows in the
// interleaved-pairs rotary order nq uses internally, so no permutation happens here.
import { NqFormatError, NqInputError, NqUnsupportedError } from '@nq/core';
import { fitRow, formatOf, type KnownFormat, quantize, type Recipe } from '@nq/kquants';
import type { LayerWeights, LoadedModel, ModelConfig } from '../types.js';
import { type GgufFile, metaNumber, metaString, openGguf } from './reader.js';
import { GGUF_VALUE_TYPE, type GgufKV, type GgufMetadata, type GgufTensorInfo } from './types.js';
import { type GgufTensorToWrite, kv, writeGguf } from './writer.js';

/** GGUF tensor name of each per-layer weight. */
export const LAYER_TENSOR_NAMES: Readonly<Record<keyof LayerWeights, string>> = {
  attnNorm: 'attn_norm',
  q: 'attn_q',
  k: 'attn_k',
  v: 'attn_v',
  o: 'attn_output',
  ffnNorm: 'ffn_norm',
  gate: 'ffn_gate',
  up: 'ffn_up',
  down: 'ffn_down',
};
const LAYER_ORDER: (keyof LayerWeights)[] = ['attnNorm', 'q', 'k', 'v', 'o', 'ffnNorm', 'gate', 'down', 'up'];

export interface GgufLoadedModel extends LoadedModel {
  /** The file's metadata, for tokenizers (tokenizer.ggml.*) and for writing it back. */
  gguf: {
    version: number;
    kv: GgufKV[];
    metadata: GgufMetadata;
    /** Storage type of every tensor, e.g. { "blk.0.attn_q.weight": "Q4_K" }. */
    tensorTypes: Record<string, string>;
  };
}

/** ModelConfig from llama.* metadata, checked against the tensor shapes. */
export function llamaConfigFromGguf(
  g: Pick<GgufFile, 'metadata' | 'tensors'> & { name: string },
): ModelConfig {
  const meta = g.metadata;
  const file = g.name;
  const arch = metaString(meta, 'general.architecture', file);
  if (arch === undefined) throw new NqFormatError(file, 'metadata "general.architecture" is missing');
  if (arch !== 'llama')
    throw new NqUnsupportedError(
      `${file}: architecture "${arch}"`,
      'Only the "llama" GGUF architecture is supported',
    );
  const need = (key: string): number => {
    const v = metaNumber(meta, `llama.${key}`, file);
    if (v === undefined) throw new NqFormatError(file, `metadata "llama.${key}" is missing`);
    if (!Number.isFinite(v) || v <= 0)
      throw new NqFormatError(file, `metadata "llama.${key}" is ${v}, must be positive`);
    return v;
  };
  const dim = need('embedding_length');
  const nLayers = need('block_count');
  const nHeads = need('attention.head_count');
  const nKvHeads = metaNumber(meta, 'llama.attention.head_count_kv', file) ?? nHeads;
  const hiddenDim = need('feed_forward_length');
  const seqLen = need('context_length');
  const normEps = metaNumber(meta, 'llama.attention.layer_norm_rms_epsilon', file) ?? 1e-5;
  const ropeTheta = metaNumber(meta, 'llama.rope.freq_base', file) ?? 10000;
  if (dim % nHeads !== 0 || nHeads % nKvHeads !== 0) {
    throw new NqFormatError(
      file,
      `embedding_length ${dim}, head_count ${nHeads}, head_count_kv ${nKvHeads} do not divide evenly`,
    );
  }
  const headDim = dim / nHeads;
  const rotDim = metaNumber(meta, 'llama.rope.dimension_count', file);
  if (rotDim !== undefined && rotDim !== headDim)
    throw new NqUnsupportedError(
      `${file}: partial rotary (rope.dimension_count ${rotDim} of head dim ${headDim})`,
      'Only full-head RoPE is supported',
    );
  const keyLen = metaNumber(meta, 'llama.attention.key_length', file);
  if (keyLen !== undefined && keyLen !== headDim)
    throw new NqUnsupportedError(
      `${file}: attention.key_length ${keyLen} ≠ embedding_length/head_count ${headDim}`,
      'Only head dim = dim / heads is supported',
    );
  const scaling = metaString(meta, 'llama.rope.scaling.type', file);
  if (scaling !== undefined && scaling !== 'none')
    throw new NqUnsupportedError(`${file}: RoPE scaling "${scaling}"`, 'Only unscaled RoPE is supported');
  if (g.tensors.some((t) => t.name === 'rope_freqs.weight'))
    throw new NqUnsupportedError(
      `${file}: rope_freqs.weight (Llama-3.1-style frequency factors)`,
      'Only plain RoPE is supported',
    );
  const expertCount = metaNumber(meta, 'llama.expert_count', file);
  if (expertCount !== undefined && expertCount > 0)
    throw new NqUnsupportedError(
      `${file}: mixture of experts (${expertCount} experts)`,
      'Only dense LLaMA models are supported',
    );
  const emb = g.tensors.find((t) => t.name === 'token_embd.weight');
  if (!emb) throw new NqFormatError(file, 'tensor "token_embd.weight" is missing');
  const vocabSize = metaNumber(meta, 'llama.vocab_size', file) ?? emb.dims[1]!;
  return { dim, nLayers, nHeads, nKvHeads, hiddenDim, vocabSize, seqLen, normEps, ropeTheta };
}

/** The expected ggml dims of every tensor of a llama model with this config. */
export function llamaTensorShapes(c: ModelConfig, withOutput: boolean): Map<string, number[]> {
  const headDim = c.dim / c.nHeads;
  const kvDim = c.nKvHeads * headDim;
  const m = new Map<string, number[]>();
  m.set('token_embd.weight', [c.dim, c.vocabSize]);
  for (let l = 0; l < c.nLayers; l++) {
    const p = `blk.${l}.`;
    m.set(`${p}attn_norm.weight`, [c.dim]);
    m.set(`${p}attn_q.weight`, [c.dim, c.nHeads * headDim]);
    m.set(`${p}attn_k.weight`, [c.dim, kvDim]);
    m.set(`${p}attn_v.weight`, [c.dim, kvDim]);
    m.set(`${p}attn_output.weight`, [c.nHeads * headDim, c.dim]);
    m.set(`${p}ffn_norm.weight`, [c.dim]);
    m.set(`${p}ffn_gate.weight`, [c.dim, c.hiddenDim]);
    m.set(`${p}ffn_down.weight`, [c.hiddenDim, c.dim]);
    m.set(`${p}ffn_up.weight`, [c.dim, c.hiddenDim]);
  }
  m.set('output_norm.weight', [c.dim]);
  if (withOutput) m.set('output.weight', [c.dim, c.vocabSize]);
  return m;
}

function checkShape(file: string, t: GgufTensorInfo, want: number[]): void {
  if (t.dims.length !== want.length || t.dims.some((d, i) => d !== want[i])) {
    throw new NqFormatError(
      file,
      `tensor "${t.name}" has dims [${t.dims.join(', ')}], the metadata implies [${want.join(', ')}]`,
    );
  }
}

/** Loads a llama-architecture model from an open GGUF (any readable tensor type, decoded to F32). */
export function loadLlamaFromGguf(g: GgufFile): GgufLoadedModel {
  const config = llamaConfigFromGguf(g);
  const hasOutput = g.tensor('output.weight') !== undefined;
  const shapes = llamaTensorShapes(config, hasOutput);
  for (const [name, want] of shapes) checkShape(g.name, g.requireTensor(name), want);
  const vec = (name: string) => g.readTensorF32(name);
  const mat = (name: string) => g.readMatrix(name);
  const tokenEmbedding = mat('token_embd.weight');
  const layers: LayerWeights[] = [];
  for (let l = 0; l < config.nLayers; l++) {
    const p = `blk.${l}.`;
    layers.push({
      attnNorm: vec(`${p}attn_norm.weight`),
      q: mat(`${p}attn_q.weight`),
      k: mat(`${p}attn_k.weight`),
      v: mat(`${p}attn_v.weight`),
      o: mat(`${p}attn_output.weight`),
      ffnNorm: vec(`${p}ffn_norm.weight`),
      gate: mat(`${p}ffn_gate.weight`),
      up: mat(`${p}ffn_up.weight`),
      down: mat(`${p}ffn_down.weight`),
    });
  }
  const finalNorm = vec('output_norm.weight');
  const output = hasOutput
    ? mat('output.weight')
    : { rows: tokenEmbedding.rows, cols: tokenEmbedding.cols, data: tokenEmbedding.data.slice() };
  const tensorTypes: Record<string, string> = {};
  for (const t of g.tensors) tensorTypes[t.name] = t.typeName;
  return {
    config,
    weights: { tokenEmbedding, layers, finalNorm, output },
    source: { format: 'gguf', path: g.name },
    gguf: { version: g.version, kv: g.kv, metadata: g.metadata, tensorTypes },
  };
}

/** Loads a llama-architecture GGUF file (F32, F16, BF16, Q8_0, Q4_K, Q6_K … tensors) to float32. */
export async function loadGgufModel(path: string): Promise<GgufLoadedModel> {
  const g = openGguf(path);
  try {
    return loadLlamaFromGguf(g);
  } finally {
    g.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

/** llama_ftype of a file whose weights all have one type (general.file_type). */
export function fileTypeOf(type: KnownFormat): number {
  const t: Record<KnownFormat, number> = {
    F32: 0,
    F16: 1,
    Q4_0: 2,
    Q4_1: 3,
    Q8_0: 7,
    Q5_0: 8,
    Q5_1: 9,
    Q4_K: 14,
    Q5_K: 16,
    Q6_K: 18,
    BF16: 32,
  };
  return t[type];
}

/**
 * How to store each tensor: one type for every 2-D weight (norms stay F32; rows that are not whole
 * blocks fall back as llama.cpp does: K-quant → Q5_0/Q5_1/Q8_0 → F16), or a recipe.
 */
export type TensorTyping = { type: KnownFormat } | { recipe: Recipe };

function typeFor(
  typing: TensorTyping,
  name: string,
  dims: readonly number[],
  nLayers: number,
  hasOutput: boolean,
): KnownFormat {
  if ('recipe' in typing) return typing.recipe.typeFor({ name, dims, nLayers, hasOutput });
  return dims.length >= 2 ? fitRow(typing.type, dims[0]!) : 'F32';
}

function fileTypeFor(typing: TensorTyping): number {
  return 'recipe' in typing ? typing.recipe.fileType : fileTypeOf(typing.type);
}

export interface SaveGgufOptions {
  /** Default { type: 'F32' }. */
  typing?: TensorTyping;
  /** general.name. */
  name?: string;
  /**
   * Metadata appended after the llama.* keys, e.g. the tokenizer.* entries of a source GGUF
   * (see tokenizerKv) so that llama.cpp and nq's tokenizer can read the file on its own.
   */
  extraKv?: GgufKV[];
  /** Leave out output.weight (tied classifier). Default: when output equals the embeddings exactly. */
  tied?: boolean;
  /** Passed to @nq/kquants quantize (default: llama.cpp-exact). */
  fma?: boolean;
  /**
   * Per-tensor importance (GGUF tensor name → one value per input column), as llama.cpp's imatrix
   * file holds; quantized tensors listed here use the importance-weighted quantizers.
   */
  imatrix?: Readonly<Record<string, Float32Array>>;
}

/** The tokenizer.* entries of a metadata list (to carry a tokenizer from one GGUF to another). */
export function tokenizerKv(kvs: readonly GgufKV[]): GgufKV[] {
  return kvs.filter((e) => e.key.startsWith('tokenizer.'));
}

function sameData(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Metadata + tensors of a model as llama.cpp's llama architecture expects them. */
export function modelToGguf(
  model: LoadedModel,
  opts: SaveGgufOptions = {},
): { kv: GgufKV[]; tensors: GgufTensorToWrite[] } {
  const c = model.config;
  const w = model.weights;
  const typing = opts.typing ?? { type: 'F32' };
  const tied = opts.tied ?? sameData(w.output.data, w.tokenEmbedding.data);
  if (w.layers.length !== c.nLayers)
    throw new NqInputError(
      'model.weights.layers',
      `has ${w.layers.length} layers, config.nLayers is ${c.nLayers}`,
      'Pass a consistent model',
    );
  const shapes = llamaTensorShapes(c, !tied);
  const data = new Map<string, Float32Array>();
  data.set('token_embd.weight', w.tokenEmbedding.data);
  w.layers.forEach((layer, l) => {
    for (const key of LAYER_ORDER) {
      const v = layer[key];
      data.set(`blk.${l}.${LAYER_TENSOR_NAMES[key]}.weight`, v instanceof Float32Array ? v : v.data);
    }
  });
  data.set('output_norm.weight', w.finalNorm);
  if (!tied) data.set('output.weight', w.output.data);
  const tensors: GgufTensorToWrite[] = [];
  let anyQuantized = false;
  for (const [name, dims] of shapes) {
    const x = data.get(name)!;
    const n = dims.reduce((a, b) => a * b, 1);
    if (x.length !== n)
      throw new NqInputError(
        `model weight ${name}`,
        `has ${x.length} values, config implies ${n} (dims ${dims.join('×')})`,
        'Pass a model whose weights match its config',
      );
    const type = typeFor(typing, name, dims, c.nLayers, !tied);
    if (formatOf(type).blockSize > 1) anyQuantized = true;
    tensors.push({
      name,
      dims,
      type,
      data: () => quantize(type, x, { fma: opts.fma, imatrix: opts.imatrix?.[name] }),
    });
  }
  const headDim = c.dim / c.nHeads;
  const meta: GgufKV[] = [
    kv.string('general.architecture', 'llama'),
    kv.string('general.name', opts.name ?? 'nq model'),
    kv.u32('general.file_type', fileTypeFor(typing)),
    kv.u32('general.alignment', 32),
    kv.u32('llama.context_length', c.seqLen),
    kv.u32('llama.embedding_length', c.dim),
    kv.u32('llama.block_count', c.nLayers),
    kv.u32('llama.feed_forward_length', c.hiddenDim),
    kv.u32('llama.rope.dimension_count', headDim),
    kv.u32('llama.attention.head_count', c.nHeads),
    kv.u32('llama.attention.head_count_kv', c.nKvHeads),
    kv.f32('llama.attention.layer_norm_rms_epsilon', c.normEps),
    kv.f32('llama.rope.freq_base', c.ropeTheta),
    kv.u32('llama.vocab_size', c.vocabSize),
  ];
  const own = new Set(meta.map((e) => e.key));
  for (const e of opts.extraKv ?? [])
    if (!own.has(e.key) && e.key !== 'general.quantization_version') meta.push(e);
  if (anyQuantized) meta.push(kv.u32('general.quantization_version', 2));
  return { kv: meta, tensors };
}

/** Writes a model as a GGUF v3 file (F32, or quantized per `typing`). Returns bytes written. */
export function saveGgufModel(path: string, model: LoadedModel, opts: SaveGgufOptions = {}): number {
  const { kv: meta, tensors } = modelToGguf(model, opts);
  return writeGguf(path, meta, tensors);
}

/**
 * llama.cpp's tensor order when it rewrites a model (llama-model-loader's weight_name_comparer):
 * tensors outside the blocks first, then block by block, by name within each group.
 */
export function llamaCppTensorOrder(a: string, b: string): number {
  const la = /^blk\.(\d+)\./.exec(a);
  const lb = /^blk\.(\d+)\./.exec(b);
  const ia = la ? Number(la[1]) : -1;
  const ib = lb ? Number(lb[1]) : -1;
  if (ia !== ib) return ia - ib;
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface QuantizeGgufOptions {
  fma?: boolean;
  /** Per-tensor importance (tensor name → one value per input column), as SaveGgufOptions.imatrix. */
  imatrix?: Readonly<Record<string, Float32Array>>;
  /** Called after each tensor with its name and chosen type (progress). */
  onTensor?: (name: string, type: KnownFormat) => void;
}

/**
 * `llama-quantize` in nq: reads a GGUF (any readable types), stores every tensor as `typing` says
 * and writes it with llama.cpp's metadata and tensor order (source metadata with general.file_type
 * and general.quantization_version moved to the end). From the shipped F32 file with the q8_0 or
 * q4_k_m recipe this reproduces llama.cpp's files byte for byte.
 */
export function quantizeGgufFile(
  srcPath: string,
  dstPath: string,
  typing: TensorTyping,
  opts: QuantizeGgufOptions = {},
): number {
  const g = openGguf(srcPath);
  try {
    const config = llamaConfigFromGguf(g);
    const hasOutput = g.tensor('output.weight') !== undefined;
    const meta = g.kv.filter(
      (e) => e.key !== 'general.quantization_version' && e.key !== 'general.file_type',
    );
    meta.push({ key: 'general.quantization_version', type: GGUF_VALUE_TYPE.UINT32, value: 2 });
    meta.push({ key: 'general.file_type', type: GGUF_VALUE_TYPE.UINT32, value: fileTypeFor(typing) });
    const order = [...g.tensors].sort((a, b) => llamaCppTensorOrder(a.name, b.name));
    const tensors: GgufTensorToWrite[] = order.map((t) => {
      const type = typeFor(typing, t.name, t.dims, config.nLayers, hasOutput);
      return {
        name: t.name,
        dims: t.dims,
        type,
        data: () => {
          opts.onTensor?.(t.name, type);
          return t.typeName === type
            ? g.readTensorBytes(t.name)
            : quantize(type, g.readTensorF32(t.name), { fma: opts.fma });
        },
      };
    });
    return writeGguf(dstPath, meta, tensors);
  } finally {
    g.close();
  }
}
