import fs from 'node:fs';
import nodePath from 'node:path';
import { type Matrix, NqFormatError, NqInputError, NqUnsupportedError } from '@nq/core';
// The one F16 decoder of the house: all 65536 halves widened once, exactly.
import { HALF_TO_F32 } from '@nq/kquants/cpu';
import { validateConfig } from '../config.js';
import { HOST_LITTLE_ENDIAN, ModelFile } from '../io/model-file.js';
import type { LayerWeights, LoadedModel, ModelConfig } from '../types.js';

/**
 * Hugging Face Llama checkpoints in one safetensors file plus config.json.
 *
 * safetensors: u64 LE header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [b, e]},
 * "__metadata__"?: {...}}, then the data (offsets relative to the end of the header).
 * F32, F16 and BF16 tensors are read and widened to float32.
 *
 * HF stores q_proj/k_proj rows in "rotate-half" order (within a head, rows [0, hd/2) are the first
 * members of the rotary pairs and [hd/2, hd) the second), the result of HF's conversion script's
 * permute(). nq's convention is llama2.c's interleaved pairs (2i, 2i+1), so we undo it: interleaved
 * row 2i+p comes from HF row p·hd/2 + i.
 */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;
const MAX_TENSORS = 100_000;
const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };

interface TensorEntry {
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** Reads an HF config.json (Llama layout) into a ModelConfig. */
export function readHfConfig(configPath: string): ModelConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(configPath, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new NqInputError(
        'configPath',
        `${configPath} does not exist`,
        'Put config.json beside the safetensors file or pass its path.',
        { cause: e },
      );
    }
    throw new NqFormatError(configPath, `not readable JSON (${(e as Error).message})`, { cause: e });
  }
  const j = raw as Record<string, unknown>;
  if (!j || typeof j !== 'object') throw new NqFormatError(configPath, 'config is not a JSON object');
  const num = (k: string, fallback?: number): number => {
    const v = j[k];
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'number') throw new NqFormatError(configPath, `field "${k}" is missing or not a number`);
    return v;
  };
  const mt = j.model_type;
  if (mt !== undefined && mt !== 'llama' && mt !== 'mistral') {
    throw new NqUnsupportedError(
      `model_type "${String(mt)}" (${configPath})`,
      'Supported: HF Llama-layout models (model_type "llama").',
    );
  }
  if (j.rope_scaling != null) {
    throw new NqUnsupportedError(
      `rope_scaling ${JSON.stringify(j.rope_scaling)} (${configPath})`,
      'Only plain RoPE is implemented.',
    );
  }
  const nHeads = num('num_attention_heads');
  const config: ModelConfig = {
    dim: num('hidden_size'),
    nLayers: num('num_hidden_layers'),
    nHeads,
    nKvHeads: num('num_key_value_heads', nHeads),
    hiddenDim: num('intermediate_size'),
    vocabSize: num('vocab_size'),
    seqLen: num('max_position_embeddings', 2048),
    normEps: num('rms_norm_eps', 1e-6),
    ropeTheta: num('rope_theta', 10000),
  };
  const headDimField = j.head_dim;
  if (typeof headDimField === 'number' && headDimField !== config.dim / nHeads) {
    throw new NqUnsupportedError(
      `head_dim ${headDimField} ≠ hidden_size / num_attention_heads (${configPath})`,
      'Only models with head_dim = hidden_size / heads are supported.',
    );
  }
  validateConfig(config, configPath);
  return config;
}

/** Parses and validates the safetensors header: every tensor inside the data region, sizes consistent. */
export function readSafetensorsHeader(f: ModelFile): {
  tensors: Map<string, TensorEntry>;
  dataStart: number;
} {
  if (f.size < 8) throw new NqFormatError(f.path, `${f.size} bytes is too short for a safetensors file`);
  const lenBytes = f.bytes(0, 8, 'header length');
  const len = Number(new DataView(lenBytes.buffer).getBigUint64(0, true));
  if (len < 2 || len > MAX_HEADER_BYTES)
    throw new NqFormatError(
      f.path,
      `header length ${len} is absurd (expected 2..${MAX_HEADER_BYTES} bytes): not a safetensors file, or corrupt`,
    );
  if (8 + len > f.size)
    throw new NqFormatError(
      f.path,
      `header length ${len} runs past the end of the ${f.size}-byte file (truncated)`,
    );
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(f.bytes(8, len, 'header')));
  } catch (e) {
    throw new NqFormatError(f.path, `header is not valid JSON (${(e as Error).message})`, { cause: e });
  }
  if (!header || typeof header !== 'object' || Array.isArray(header))
    throw new NqFormatError(f.path, 'header is not a JSON object');
  const dataStart = 8 + len;
  const dataBytes = f.size - dataStart;
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  if (names.length > MAX_TENSORS)
    throw new NqFormatError(f.path, `${names.length} tensors is absurd (limit ${MAX_TENSORS})`);
  const tensors = new Map<string, TensorEntry>();
  for (const name of names) {
    const e = header[name] as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (
      !e ||
      typeof e !== 'object' ||
      typeof e.dtype !== 'string' ||
      !Array.isArray(e.shape) ||
      !Array.isArray(e.data_offsets) ||
      e.data_offsets.length !== 2
    ) {
      throw new NqFormatError(f.path, `tensor "${name}" has a malformed entry`);
    }
    const shape = e.shape as unknown[];
    if (shape.some((d) => !Number.isSafeInteger(d) || (d as number) < 0))
      throw new NqFormatError(f.path, `tensor "${name}" has a bad shape ${JSON.stringify(shape)}`);
    const [begin, end] = e.data_offsets as [unknown, unknown];
    if (
      !Number.isSafeInteger(begin) ||
      !Number.isSafeInteger(end) ||
      (begin as number) < 0 ||
      (end as number) < (begin as number) ||
      (end as number) > dataBytes
    ) {
      throw new NqFormatError(
        f.path,
        `tensor "${name}" has offsets ${JSON.stringify(e.data_offsets)} outside the ${dataBytes}-byte data region (truncated or corrupt)`,
      );
    }
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    const elBytes = DTYPE_BYTES[e.dtype];
    if (elBytes !== undefined && count * elBytes !== (end as number) - (begin as number)) {
      throw new NqFormatError(
        f.path,
        `tensor "${name}" ${e.dtype}[${shape.join(', ')}] needs ${count * elBytes} bytes but its offsets span ${(end as number) - (begin as number)}`,
      );
    }
    tensors.set(name, {
      dtype: e.dtype,
      shape: shape as number[],
      begin: begin as number,
      end: end as number,
    });
  }
  return { tensors, dataStart };
}

function readTensor(f: ModelFile, dataStart: number, t: TensorEntry, name: string): Float32Array {
  const count = t.shape.reduce((a, b) => a * b, 1);
  const at = dataStart + t.begin;
  if (t.dtype === 'F32') return f.f32(at, count, name);
  if (t.dtype === 'F16' || t.dtype === 'BF16') {
    const half = new Uint16Array(count);
    f.into(half, at, name);
    const out = new Float32Array(count);
    if (t.dtype === 'BF16') {
      // bf16 is the top half of a float32.
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) u[i] = half[i]! << 16;
    } else {
      for (let i = 0; i < count; i++) out[i] = HALF_TO_F32[half[i]!]!;
    }
    return out;
  }
  throw new NqUnsupportedError(
    `safetensors dtype ${t.dtype} (tensor "${name}" in ${f.path})`,
    'Supported: F32, F16, BF16.',
  );
}

/** Undoes HF's rotate-half permutation of q/k rows, head by head (see the file comment). */
export function unpermuteRotary(w: Matrix, nHeads: number): Matrix {
  const hd = w.rows / nHeads;
  const half = hd / 2;
  const cols = w.cols;
  const out = new Float32Array(w.data.length);
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < half; i++) {
      for (let p = 0; p < 2; p++) {
        const src = (h * hd + p * half + i) * cols;
        const dst = (h * hd + 2 * i + p) * cols;
        out.set(w.data.subarray(src, src + cols), dst);
      }
    }
  }
  return { rows: w.rows, cols, data: out };
}

/**
 * Loads `path` (.safetensors) with its HF config (default: config.json in the same folder).
 * The returned model uses nq's interleaved rotary convention.
 */
export async function loadSafetensors(path: string, configPath?: string): Promise<LoadedModel> {
  if (!HOST_LITTLE_ENDIAN)
    throw new NqUnsupportedError('a big-endian host', 'safetensors files are little-endian.');
  const config = readHfConfig(configPath ?? nodePath.join(nodePath.dirname(path), 'config.json'));
  const f = ModelFile.open(path);
  try {
    const { tensors, dataStart } = readSafetensorsHeader(f);
    const { dim, nLayers, hiddenDim, vocabSize } = config;
    const kv = (dim / config.nHeads) * config.nKvHeads;
    const get = (name: string, shape: number[]): Float32Array => {
      const t = tensors.get(name);
      if (!t) throw new NqFormatError(f.path, `tensor "${name}" is missing (expected the HF Llama layout)`);
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        throw new NqFormatError(
          f.path,
          `tensor "${name}" has shape [${t.shape.join(', ')}], config.json implies [${shape.join(', ')}]`,
        );
      }
      return readTensor(f, dataStart, t, name);
    };
    const mat = (name: string, rows: number, cols: number): Matrix => ({
      rows,
      cols,
      data: get(name, [rows, cols]),
    });
    const tokenEmbedding = mat('model.embed_tokens.weight', vocabSize, dim);
    const layers: LayerWeights[] = [];
    for (let l = 0; l < nLayers; l++) {
      const p = `model.layers.${l}.`;
      layers.push({
        attnNorm: get(`${p}input_layernorm.weight`, [dim]),
        q: unpermuteRotary(mat(`${p}self_attn.q_proj.weight`, dim, dim), config.nHeads),
        k: unpermuteRotary(mat(`${p}self_attn.k_proj.weight`, kv, dim), config.nKvHeads),
        v: mat(`${p}self_attn.v_proj.weight`, kv, dim),
        o: mat(`${p}self_attn.o_proj.weight`, dim, dim),
        ffnNorm: get(`${p}post_attention_layernorm.weight`, [dim]),
        gate: mat(`${p}mlp.gate_proj.weight`, hiddenDim, dim),
        up: mat(`${p}mlp.up_proj.weight`, hiddenDim, dim),
        down: mat(`${p}mlp.down_proj.weight`, dim, hiddenDim),
      });
    }
    const finalNorm = get('model.norm.weight', [dim]);
    const output: Matrix = tensors.has('lm_head.weight')
      ? mat('lm_head.weight', vocabSize, dim)
      : { rows: vocabSize, cols: dim, data: tokenEmbedding.data.slice() };
    return {
      config,
      weights: { tokenEmbedding, layers, finalNorm, output },
      source: { format: 'safetensors', path: f.path },
    };
  } finally {
    f.close();
  }
}
