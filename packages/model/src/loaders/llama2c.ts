import { type Matrix, NqFormatError, NqUnsupportedError } from '@nq/core';
import { CONFIG_LIMITS, kvDim, validateConfig } from '../config.js';
import { HOST_LITTLE_ENDIAN, ModelFile } from '../io/model-file.js';
import type { LayerWeights, LoadedModel, ModelConfig } from '../types.js';

/**
 * llama2.c checkpoints (`run.c`'s format).
 *
 * Legacy (v0): 7 × int32 header {dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size,
 * seq_len}, then float32 tensors in this order (L = n_layers):
 *   token_embedding [vocab, dim], rms_att [L, dim], wq [L, dim, dim], wk [L, kvDim, dim],
 *   wv [L, kvDim, dim], wo [L, dim, dim], rms_ffn [L, dim], w1 [L, hidden, dim],
 *   w2 [L, dim, hidden], w3 [L, hidden, dim], rms_final [dim],
 *   freq_cis_real [seq, headDim/2], freq_cis_imag [seq, headDim/2]  (unused: RoPE is recomputed),
 *   wcls [vocab, dim] only when vocab_size is stored negative (separate classifier).
 * Version 1 (export.py --version 1): 256-byte header "ak42" magic u32 0x616b3432, int32 version = 1,
 * the 7 ints, a uint8 shared_classifier flag, zero padding; then all norms first
 * (rms_att [L,dim], rms_ffn [L,dim], rms_final [dim]), token_embedding, wq, wk, wv, wo, w1, w2, w3
 * (each [L, ...]), then wcls when not shared. Version 2 (int8 groups) is not supported.
 *
 * llama2.c has no norm-eps or rope-theta field: run.c uses 1e-5 and 10000, and so do we.
 */
const V1_MAGIC = 0x616b3432;

export async function loadLlama2c(path: string): Promise<LoadedModel> {
  const f = ModelFile.open(path);
  try {
    return readLlama2c(f);
  } finally {
    f.close();
  }
}

function readLlama2c(f: ModelFile): LoadedModel {
  if (!HOST_LITTLE_ENDIAN)
    throw new NqUnsupportedError(
      'a big-endian host',
      'llama2.c files are little-endian; run on a little-endian machine.',
    );
  if (f.size < 28)
    throw new NqFormatError(f.path, `${f.size} bytes is too short for a llama2.c header (28 bytes)`);
  const head = f.bytes(0, Math.min(f.size, 256), 'header');
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let version = 0;
  let ints: number[];
  let shared: boolean;
  let dataStart: number;
  if (dv.getUint32(0, true) === V1_MAGIC) {
    version = dv.getInt32(4, true);
    if (version !== 1) {
      throw new NqUnsupportedError(
        `llama2.c checkpoint version ${version} (${f.path})`,
        'Supported: legacy (v0) and version 1 float32 checkpoints.',
      );
    }
    if (f.size < 256) throw new NqFormatError(f.path, 'version-1 header is truncated (needs 256 bytes)');
    ints = Array.from({ length: 7 }, (_, i) => dv.getInt32(8 + 4 * i, true));
    const flag = head[36]!;
    if (flag > 1) throw new NqFormatError(f.path, `shared_classifier flag is ${flag}, expected 0 or 1`);
    shared = flag === 1;
    dataStart = 256;
  } else {
    ints = Array.from({ length: 7 }, (_, i) => dv.getInt32(4 * i, true));
    shared = ints[5]! > 0;
    ints[5] = Math.abs(ints[5]!);
    dataStart = 28;
  }
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen] = ints as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const config: ModelConfig = {
    dim,
    hiddenDim,
    nLayers,
    nHeads,
    nKvHeads,
    vocabSize,
    seqLen,
    normEps: 1e-5,
    ropeTheta: 10000,
  };
  validateConfig(config, f.path);
  if (version === 0 && seqLen > CONFIG_LIMITS.seqLen)
    throw new NqFormatError(f.path, `seq_len ${seqLen} is absurd`);

  // Sizes in floats, all checked against the file size before anything large is allocated.
  const kv = kvDim(config);
  const hd = dim / nHeads;
  const per = {
    norm: dim,
    q: dim * dim,
    kv: kv * dim,
    o: dim * dim,
    ffn: hiddenDim * dim,
  };
  const perLayer = 2 * per.norm + per.q + 2 * per.kv + per.o + 3 * per.ffn;
  const rope = version === 0 ? seqLen * hd : 0; // freq_cis_real + freq_cis_imag, (hd/2) each
  const floats = vocabSize * dim + nLayers * perLayer + dim + rope + (shared ? 0 : vocabSize * dim);
  const expected = dataStart + 4 * floats;
  if (f.size !== expected) {
    const alt = expected + (shared ? 4 : -4) * vocabSize * dim;
    const hint =
      f.size === alt
        ? ` (the size would fit a ${shared ? 'separate' : 'shared'} classifier: the vocab-size sign or the flag is wrong)`
        : '';
    throw new NqFormatError(
      f.path,
      `size ${f.size} bytes does not match its header (dim ${dim}, hidden ${hiddenDim}, layers ${nLayers}, heads ${nHeads}/${nKvHeads}, vocab ${vocabSize}, seq ${seqLen}, ${shared ? 'shared' : 'separate'} classifier) which needs ${expected} bytes${hint}`,
    );
  }

  let off = dataStart;
  const take = (count: number, what: string): Float32Array => {
    const a = f.f32(off, count, what);
    off += 4 * count;
    return a;
  };
  const mat = (rows: number, cols: number, what: string): Matrix => ({
    rows,
    cols,
    data: take(rows * cols, what),
  });
  const perLayerMats = (rows: number, cols: number, what: string): Matrix[] =>
    Array.from({ length: nLayers }, (_, l) => mat(rows, cols, `${what}[${l}]`));
  const perLayerVecs = (n: number, what: string): Float32Array[] =>
    Array.from({ length: nLayers }, (_, l) => take(n, `${what}[${l}]`));

  let tokenEmbedding: Matrix;
  let attnNorm: Float32Array[];
  let ffnNorm: Float32Array[];
  let finalNorm: Float32Array;
  if (version === 0) {
    tokenEmbedding = mat(vocabSize, dim, 'token_embedding');
    attnNorm = perLayerVecs(dim, 'rms_att');
  } else {
    attnNorm = perLayerVecs(dim, 'rms_att');
    ffnNorm = perLayerVecs(dim, 'rms_ffn');
    finalNorm = take(dim, 'rms_final');
    tokenEmbedding = mat(vocabSize, dim, 'token_embedding');
  }
  const wq = perLayerMats(dim, dim, 'wq');
  const wk = perLayerMats(kv, dim, 'wk');
  const wv = perLayerMats(kv, dim, 'wv');
  const wo = perLayerMats(dim, dim, 'wo');
  if (version === 0) ffnNorm = perLayerVecs(dim, 'rms_ffn');
  const w1 = perLayerMats(hiddenDim, dim, 'w1');
  const w2 = perLayerMats(dim, hiddenDim, 'w2');
  const w3 = perLayerMats(hiddenDim, dim, 'w3');
  if (version === 0) {
    finalNorm = take(dim, 'rms_final');
    off += 4 * rope;
  }
  const output: Matrix = shared
    ? { rows: vocabSize, cols: dim, data: tokenEmbedding.data.slice() }
    : mat(vocabSize, dim, 'wcls');
  if (off !== f.size)
    throw new NqFormatError(f.path, `internal size mismatch: read up to ${off} of ${f.size} bytes`);

  const layers: LayerWeights[] = Array.from({ length: nLayers }, (_, l) => ({
    attnNorm: attnNorm[l]!,
    q: wq[l]!,
    k: wk[l]!,
    v: wv[l]!,
    o: wo[l]!,
    ffnNorm: ffnNorm![l]!,
    gate: w1[l]!,
    up: w3[l]!,
    down: w2[l]!,
  }));
  return {
    config,
    weights: { tokenEmbedding, layers, finalNorm: finalNorm!, output },
    source: { format: 'llama2c', path: f.path },
  };
}
