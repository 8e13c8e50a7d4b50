import fs from 'node:fs';
import type { LoadedModel } from '../../src/types.js';

// Test-side writers for crafted model files, written from the format descriptions (llama2.c's
// export.py layout, the safetensors spec, HF's q/k permutation), independently of the loaders.

function concat(parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
const bytesOf = (a: Float32Array): Uint8Array =>
  new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));

/** llama2.c legacy (v0) or version-1 checkpoint bytes for `m`. */
export function llama2cBytes(m: LoadedModel, opts: { shared?: boolean; version?: 0 | 1 } = {}): Uint8Array {
  const c = m.config;
  const w = m.weights;
  const L = w.layers;
  const shared = opts.shared ?? false;
  const all = (f: (l: (typeof L)[number]) => Float32Array) => L.map((l) => bytesOf(f(l)));
  const hd = c.dim / c.nHeads;
  if ((opts.version ?? 0) === 0) {
    const header = new Int32Array([
      c.dim,
      c.hiddenDim,
      c.nLayers,
      c.nHeads,
      c.nKvHeads,
      shared ? c.vocabSize : -c.vocabSize,
      c.seqLen,
    ]);
    return concat([
      bytesOf(new Float32Array(header.buffer)),
      bytesOf(w.tokenEmbedding.data),
      ...all((l) => l.attnNorm),
      ...all((l) => l.q.data),
      ...all((l) => l.k.data),
      ...all((l) => l.v.data),
      ...all((l) => l.o.data),
      ...all((l) => l.ffnNorm),
      ...all((l) => l.gate.data),
      ...all((l) => l.down.data),
      ...all((l) => l.up.data),
      bytesOf(w.finalNorm),
      new Uint8Array(c.seqLen * hd * 4), // freq_cis real + imag (seq × hd/2 each), unused
      ...(shared ? [] : [bytesOf(w.output.data)]),
    ]);
  }
  const header = new Uint8Array(256);
  const dv = new DataView(header.buffer);
  dv.setUint32(0, 0x616b3432, true);
  dv.setInt32(4, 1, true);
  const ints = [c.dim, c.hiddenDim, c.nLayers, c.nHeads, c.nKvHeads, c.vocabSize, c.seqLen];
  for (let i = 0; i < ints.length; i++) dv.setInt32(8 + 4 * i, ints[i]!, true);
  header[36] = shared ? 1 : 0;
  return concat([
    header,
    ...all((l) => l.attnNorm),
    ...all((l) => l.ffnNorm),
    bytesOf(w.finalNorm),
    bytesOf(w.tokenEmbedding.data),
    ...all((l) => l.q.data),
    ...all((l) => l.k.data),
    ...all((l) => l.v.data),
    ...all((l) => l.o.data),
    ...all((l) => l.gate.data),
    ...all((l) => l.down.data),
    ...all((l) => l.up.data),
    ...(shared ? [] : [bytesOf(w.output.data)]),
  ]);
}

/** HF's permute(): row p·hd/2 + i of each head takes interleaved row 2i + p. */
export function hfPermute(data: Float32Array, rows: number, cols: number, heads: number): Float32Array {
  const hd = rows / heads;
  const out = new Float32Array(data.length);
  for (let h = 0; h < heads; h++)
    for (let r = 0; r < hd; r++) {
      const i = r >> 1;
      const p = r & 1;
      out.set(
        data.subarray((h * hd + r) * cols, (h * hd + r + 1) * cols),
        (h * hd + p * (hd / 2) + i) * cols,
      );
    }
  return out;
}

export type StDtype = 'F32' | 'BF16' | 'F16';

function encode(a: Float32Array, dtype: StDtype): Uint8Array {
  if (dtype === 'F32') return bytesOf(a);
  const out = new Uint16Array(a.length);
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
  for (let i = 0; i < a.length; i++) {
    if (dtype === 'BF16')
      out[i] = u[i]! >>> 16; // truncation: exact for the loader's widening check
    else out[i] = toF16(a[i]!);
  }
  return new Uint8Array(out.buffer);
}

/** float32 → IEEE half (round to nearest even on the mantissa; inputs here are small normals). */
export function toF16(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  let mant = x & 0x7fffff;
  if (exp <= 0) return sign; // flush tiny values to zero (not hit by test data)
  if (exp >= 31) return sign | 0x7c00;
  let h = sign | (exp << 10) | (mant >>> 13);
  mant &= 0x1fff;
  if (mant > 0x1000 || (mant === 0x1000 && h & 1)) h++;
  return h;
}

/** A safetensors file (HF Llama names, q/k permuted to rotate-half) plus its config.json text. */
export function safetensorsBytes(
  m: LoadedModel,
  dtype: StDtype = 'F32',
  opts: { tied?: boolean } = {},
): { bytes: Uint8Array; config: string } {
  const c = m.config;
  const w = m.weights;
  const kv = (c.dim / c.nHeads) * c.nKvHeads;
  const tensors: [string, number[], Float32Array][] = [
    ['model.embed_tokens.weight', [c.vocabSize, c.dim], w.tokenEmbedding.data],
  ];
  w.layers.forEach((l, i) => {
    const p = `model.layers.${i}.`;
    tensors.push(
      [`${p}input_layernorm.weight`, [c.dim], l.attnNorm],
      [`${p}self_attn.q_proj.weight`, [c.dim, c.dim], hfPermute(l.q.data, c.dim, c.dim, c.nHeads)],
      [`${p}self_attn.k_proj.weight`, [kv, c.dim], hfPermute(l.k.data, kv, c.dim, c.nKvHeads)],
      [`${p}self_attn.v_proj.weight`, [kv, c.dim], l.v.data],
      [`${p}self_attn.o_proj.weight`, [c.dim, c.dim], l.o.data],
      [`${p}post_attention_layernorm.weight`, [c.dim], l.ffnNorm],
      [`${p}mlp.gate_proj.weight`, [c.hiddenDim, c.dim], l.gate.data],
      [`${p}mlp.up_proj.weight`, [c.hiddenDim, c.dim], l.up.data],
      [`${p}mlp.down_proj.weight`, [c.dim, c.hiddenDim], l.down.data],
    );
  });
  tensors.push(['model.norm.weight', [c.dim], w.finalNorm]);
  if (!opts.tied) tensors.push(['lm_head.weight', [c.vocabSize, c.dim], w.output.data]);
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const blobs: Uint8Array[] = [];
  let off = 0;
  for (const [name, shape, data] of tensors) {
    const b = encode(data, dtype);
    header[name] = { dtype, shape, data_offsets: [off, off + b.length] };
    blobs.push(b);
    off += b.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(json.length), true);
  const config = JSON.stringify({
    model_type: 'llama',
    hidden_size: c.dim,
    intermediate_size: c.hiddenDim,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    vocab_size: c.vocabSize,
    max_position_embeddings: c.seqLen,
    rms_norm_eps: c.normEps,
    rope_theta: c.ropeTheta,
    tie_word_embeddings: !!opts.tied,
  });
  return { bytes: concat([len, json, ...blobs]), config };
}

export function writeFile(path: string, bytes: Uint8Array | string): string {
  fs.writeFileSync(path, bytes);
  return path;
}
