// GGUF <-> LLaMA models: the shipped nq-docs-5M GGUF files (F32 by nq's exporter, Q8_0 and Q4_K_M by
// llama.cpp's llama-quantize) against the llama2.c checkpoint, the reference logits and llama.cpp's
// own bytes; and round trips of models written by nq's writer.
import fs from 'node:fs';
import path from 'node:path';
import { NqFormatError, NqUnsupportedError } from '@nq/core';
import { bitsPerWeight, dequantize, q4_k_m, q8_0, quantize, recipeBitsPerParameter } from '@nq/kquants';
import { afterAll, describe, expect, it } from 'vitest';
import {
  forward,
  GGUF_VALUE_TYPE,
  type GgufKV,
  kv,
  llamaCppTensorOrder,
  loadGgufModel,
  loadGgufTokenizer,
  loadLlama2c,
  modelToGguf,
  openGguf,
  parseGguf,
  quantizeGgufFile,
  randomModel,
  readNpy,
  saveGgufModel,
  serializeGguf,
  TINY_CONFIG,
  tokenizerKv,
} from '../src/index.js';
import type { LoadedModel } from '../src/types.js';
import {
  NQ5M,
  NQ5M_BIN,
  NQ5M_GGUF,
  NQ5M_Q4KM_GGUF,
  NQ5M_Q8_GGUF,
  NQ5M_REF_JSON,
  NQ5M_REF_LOGITS,
  relErr,
  tmpDir,
} from './helpers/shared.js';

const F32 = NQ5M_GGUF;
const Q8 = NQ5M_Q8_GGUF;
const Q4KM = NQ5M_Q4KM_GGUF;
const BIN = NQ5M_BIN;
const REF_JSON = NQ5M_REF_JSON;
const REF_LOGITS = NQ5M_REF_LOGITS;
const HAVE = [F32, Q8, Q4KM, BIN, REF_JSON, REF_LOGITS].every((p) => fs.existsSync(p));
const SKIP = `nq-docs-5M GGUF files not found under ${NQ5M} (CI always has ../shared)`;

const dir = tmpDir('gguf');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Every weight tensor of a model with its GGUF name. */
function namedTensors(m: LoadedModel): Map<string, Float32Array> {
  const t = new Map<string, Float32Array>();
  t.set('token_embd.weight', m.weights.tokenEmbedding.data);
  m.weights.layers.forEach((l, i) => {
    const p = `blk.${i}.`;
    t.set(`${p}attn_norm.weight`, l.attnNorm);
    t.set(`${p}attn_q.weight`, l.q.data);
    t.set(`${p}attn_k.weight`, l.k.data);
    t.set(`${p}attn_v.weight`, l.v.data);
    t.set(`${p}attn_output.weight`, l.o.data);
    t.set(`${p}ffn_norm.weight`, l.ffnNorm);
    t.set(`${p}ffn_gate.weight`, l.gate.data);
    t.set(`${p}ffn_up.weight`, l.up.data);
    t.set(`${p}ffn_down.weight`, l.down.data);
  });
  t.set('output_norm.weight', m.weights.finalNorm);
  t.set('output.weight', m.weights.output.data);
  return t;
}

function expectSameWeights(a: LoadedModel, b: LoadedModel): void {
  const ta = namedTensors(a);
  const tb = namedTensors(b);
  for (const [name, x] of ta) {
    const y = tb.get(name)!;
    let bad = -1;
    for (let i = 0; i < x.length && bad < 0; i++) if (x[i] !== y[i]) bad = i;
    expect(`${name}: ${x.length} / first difference ${bad}`).toBe(
      `${name}: ${y.length} / first difference -1`,
    );
  }
}

describe.skipIf(!HAVE)(`nq-docs-5M GGUF files${HAVE ? '' : ` (skipped: ${SKIP})`}`, () => {
  const ref = HAVE
    ? (JSON.parse(fs.readFileSync(REF_JSON, 'utf8')) as { ref_logits: { prompt_ids: number[] } })
    : null;

  it('the F32 GGUF loads to exactly the weights of the llama2.c checkpoint, with the right config', async () => {
    const g = await loadGgufModel(F32);
    const b = await loadLlama2c(BIN);
    expect(g.config).toMatchObject({
      dim: 256,
      nLayers: 4,
      nHeads: 8,
      nKvHeads: 2,
      hiddenDim: 768,
      vocabSize: 4096,
      seqLen: 256,
      ropeTheta: 10000,
    });
    expect(g.config.normEps).toBe(Math.fround(1e-5)); // stored as float32
    expect(g.source).toEqual({ format: 'gguf', path: F32 });
    expectSameWeights(g, b);
    expect(g.gguf.tensorTypes['blk.0.attn_q.weight']).toBe('F32');
  });

  it('F32 GGUF logits match the reference logits to 1e-4 relative (no q/k permutation needed)', async () => {
    const g = await loadGgufModel(F32);
    const want = readNpy(REF_LOGITS);
    const got = forward(g, ref!.ref_logits.prompt_ids);
    expect(relErr(got.data, want.data as Float32Array)).toBeLessThan(1e-4);
  });

  it('Q8_0 and Q4_K_M files load; their logits stay near the reference with the same argmax mostly', async () => {
    const want = readNpy(REF_LOGITS).data as Float32Array;
    const ids = ref!.ref_logits.prompt_ids;
    for (const [file, maxRel, minAgree] of [
      [Q8, 0.02, 0.95],
      [Q4KM, 0.1, 0.8],
    ] as const) {
      const m = await loadGgufModel(file);
      const got = forward(m, ids);
      const V = m.config.vocabSize;
      let agree = 0;
      for (let t = 0; t < ids.length; t++) {
        let ag = 0;
        let aw = 0;
        for (let v = 1; v < V; v++) {
          if (got.data[t * V + v]! > got.data[t * V + ag]!) ag = v;
          if (want[t * V + v]! > want[t * V + aw]!) aw = v;
        }
        if (ag === aw) agree++;
      }
      expect(relErr(got.data, want), file).toBeLessThan(maxRel);
      expect(agree / ids.length, file).toBeGreaterThanOrEqual(minAgree);
    }
  });

  it('nq reproduces llama-quantize: q8_0 and q4_k_m files from the F32 GGUF are byte-identical', () => {
    for (const [recipe, shipped] of [
      [q8_0, Q8],
      [q4_k_m, Q4KM],
    ] as const) {
      const out = path.join(dir, `nq.${recipe.name}.gguf`);
      const n = quantizeGgufFile(F32, out, { recipe });
      const a = fs.readFileSync(out);
      const b = fs.readFileSync(shipped);
      expect(n).toBe(b.length);
      let first = -1;
      for (let i = 0; i < b.length && first < 0; i++) if (a[i] !== b[i]) first = i;
      expect(`${recipe.name}: first differing byte ${first}`).toBe(`${recipe.name}: first differing byte -1`);
    }
  });

  it("the q4_k_m recipe gives the tensor types of llama.cpp's Q4_K_M file, and its bits per parameter", () => {
    const g = openGguf(Q4KM);
    try {
      const nLayers = g.metadata['llama.block_count'] as number;
      let bytes = 0;
      for (const t of g.tensors) {
        expect(`${t.name}: ${q4_k_m.typeFor({ name: t.name, dims: t.dims, nLayers, hasOutput: true })}`).toBe(
          `${t.name}: ${t.typeName}`,
        );
        bytes += t.byteSize;
      }
      const bpp = recipeBitsPerParameter(
        q4_k_m,
        g.tensors.map((t) => ({ name: t.name, dims: t.dims, nLayers, hasOutput: true })),
      );
      expect(bpp.params).toBe(5_114_112);
      expect(bpp.bits).toBe(bytes * 8);
      expect(bitsPerWeight('Q6_K')).toBe(6.5625);
    } finally {
      g.close();
    }
  });

  it("a model saved from the llama2.c weights with the q4_k_m recipe stores llama.cpp's exact blocks", async () => {
    const b = await loadLlama2c(BIN);
    const src = openGguf(F32);
    const out = path.join(dir, 'from-bin.q4_k_m.gguf');
    saveGgufModel(out, b, { typing: { recipe: q4_k_m }, name: 'nq-docs-5M', extraKv: tokenizerKv(src.kv) });
    src.close();
    const mine = openGguf(out);
    const theirs = openGguf(Q4KM);
    try {
      expect(mine.tensors.map((t) => t.name).sort()).toEqual(theirs.tensors.map((t) => t.name).sort());
      for (const t of theirs.tensors) {
        const a = mine.readTensorBytes(t.name);
        const c = theirs.readTensorBytes(t.name);
        expect(mine.tensor(t.name)!.typeName).toBe(t.typeName);
        expect(Buffer.compare(Buffer.from(a), Buffer.from(c)), t.name).toBe(0);
      }
      expect(mine.metadata['general.file_type']).toBe(15);
      expect(mine.metadata['general.quantization_version']).toBe(2);
    } finally {
      mine.close();
      theirs.close();
    }
  });

  it('saving the F32 model with the source tokenizer metadata reproduces the shipped F32 GGUF byte for byte', async () => {
    const src = openGguf(F32);
    const model = await loadGgufModel(F32);
    const out = path.join(dir, 'resave.f32.gguf');
    saveGgufModel(out, model, { name: src.metadata['general.name'] as string, extraKv: tokenizerKv(src.kv) });
    src.close();
    expect(Buffer.compare(fs.readFileSync(out), fs.readFileSync(F32))).toBe(0);
  });

  it('loadGgufTokenizer reads the vocabulary from the metadata: BOS + ids of the reference prompt text round-trip', async () => {
    const tok = await loadGgufTokenizer(F32);
    const ids = ref!.ref_logits.prompt_ids;
    expect(ids[0]).toBe(1);
    const text = tok.decode(ids.slice(1));
    expect(Array.from(tok.encode(text))).toEqual(ids.slice(1));
  });

  it('llama.cpp tensor order: outside tensors first, then block by block, by name', () => {
    const g = openGguf(Q8);
    const names = g.tensors.map((t) => t.name);
    g.close();
    expect([...names].sort(llamaCppTensorOrder)).toEqual(names);
  });
});

describe('GGUF writer round trips', () => {
  const model = randomModel(TINY_CONFIG, 3);
  const ids = [1, 5, 9, 2, 7, 3];

  it('F32: save → load gives identical weights and logits', async () => {
    const p = path.join(dir, 'tiny.f32.gguf');
    saveGgufModel(p, model, { name: 'tiny' });
    const back = await loadGgufModel(p);
    expectSameWeights(back, model);
    expect(back.config).toEqual({
      ...model.config,
      normEps: Math.fround(model.config.normEps),
      ropeTheta: Math.fround(model.config.ropeTheta),
    });
    expect(relErr(forward(back, ids).data, forward(model, ids).data)).toBe(0);
  });

  it('tied classifier: output.weight left out, loaded back as a copy of the embeddings', async () => {
    const tied: LoadedModel = {
      ...model,
      weights: {
        ...model.weights,
        output: { ...model.weights.tokenEmbedding, data: model.weights.tokenEmbedding.data.slice() },
      },
    };
    const p = path.join(dir, 'tiny.tied.gguf');
    saveGgufModel(p, tied);
    const g = openGguf(p);
    expect(g.tensor('output.weight')).toBeUndefined();
    g.close();
    const back = await loadGgufModel(p);
    expect(back.weights.output.data).toEqual(model.weights.tokenEmbedding.data);
    expect(back.weights.output.data).not.toBe(back.weights.tokenEmbedding.data);
  });

  it('Q8_0 / Q4_K / Q6_K: loaded weights equal dequantize(quantize(w)) tensor by tensor', () => {
    // Rows of 256 so that every K-quant applies without fallback.
    const m256 = randomModel(
      { ...TINY_CONFIG, dim: 256, nHeads: 4, nKvHeads: 2, hiddenDim: 512, vocabSize: 256, nLayers: 1 },
      4,
    );
    for (const type of ['Q8_0', 'Q4_K', 'Q6_K'] as const) {
      const { kv: meta, tensors } = modelToGguf(m256, { typing: { type } });
      const g = parseGguf(serializeGguf(meta, tensors), `m256.${type}`);
      const weights = namedTensors(m256);
      for (const t of g.tensors) {
        const w = weights.get(t.name)!;
        expect(t.typeName).toBe(t.dims.length === 1 ? 'F32' : type);
        const want = t.dims.length === 1 ? w : dequantize(type, quantize(type, w), w.length);
        const got = g.readTensorF32(t.name);
        let bad = 0;
        for (let i = 0; i < w.length; i++) if (got[i] !== want[i]) bad++;
        expect(bad, `${type} ${t.name}`).toBe(0);
      }
      expect(g.metadata['general.quantization_version']).toBe(2);
    }
  });

  it('an importance matrix per tensor switches that tensor to the importance-weighted quantizer', () => {
    const m256 = randomModel(
      { ...TINY_CONFIG, dim: 256, nHeads: 4, nKvHeads: 2, hiddenDim: 256, vocabSize: 256, nLayers: 1 },
      5,
    );
    const imatrix = { 'blk.0.attn_q.weight': Float32Array.from({ length: 256 }, (_, c) => 1 + (c % 7)) };
    const { kv: meta, tensors } = modelToGguf(m256, { typing: { type: 'Q4_K' }, imatrix });
    const g = parseGguf(serializeGguf(meta, tensors));
    const q = m256.weights.layers[0]!.q.data;
    const k = m256.weights.layers[0]!.k.data;
    expect(Buffer.from(g.readTensorBytes('blk.0.attn_q.weight'))).toEqual(
      Buffer.from(quantize('Q4_K', q, { imatrix: imatrix['blk.0.attn_q.weight'] })),
    );
    expect(Buffer.from(g.readTensorBytes('blk.0.attn_q.weight'))).not.toEqual(
      Buffer.from(quantize('Q4_K', q)),
    );
    expect(Buffer.from(g.readTensorBytes('blk.0.attn_k.weight'))).toEqual(Buffer.from(quantize('Q4_K', k)));
  });

  it('rows that are not whole blocks fall back as llama.cpp does (Q4_K → Q5_0 → F16); the writer refuses partial blocks', () => {
    const { kv: meta, tensors } = modelToGguf(model, { typing: { type: 'Q4_K' } });
    const g = parseGguf(serializeGguf(meta, tensors));
    expect(g.tensor('blk.0.attn_q.weight')!.typeName).toBe('Q5_0'); // rows of 32
    expect(g.tensor('blk.0.ffn_down.weight')!.typeName).toBe('F16'); // rows of 48
    const bad = tensors.map((t) => (t.name === 'blk.0.ffn_down.weight' ? { ...t, type: 'Q8_0' } : t));
    expect(() => serializeGguf(meta, bad)).toThrow(/not whole Q8_0 blocks/);
  });

  it('bad models and files: typed errors', async () => {
    const { kv: meta, tensors } = modelToGguf(model);
    const swap = (
      key: string,
      value: GgufKV['value'],
      type: GgufKV['type'] = GGUF_VALUE_TYPE.STRING,
    ): GgufKV[] => meta.map((e) => (e.key === key ? { ...e, value, type } : e));
    const write = (name: string, bytes: Uint8Array) => {
      const p = path.join(dir, name);
      fs.writeFileSync(p, bytes);
      return p;
    };
    await expect(
      loadGgufModel(write('gpt2.gguf', serializeGguf(swap('general.architecture', 'gpt2'), tensors))),
    ).rejects.toThrow(NqUnsupportedError);
    await expect(
      loadGgufModel(
        write(
          'nolayer.gguf',
          serializeGguf(
            meta,
            tensors.filter((t) => t.name !== 'blk.1.ffn_up.weight'),
          ),
        ),
      ),
    ).rejects.toThrow(/blk\.1\.ffn_up\.weight" is missing/);
    await expect(
      loadGgufModel(
        write(
          'wrongdim.gguf',
          serializeGguf(swap('llama.feed_forward_length', 96, GGUF_VALUE_TYPE.UINT32), tensors),
        ),
      ),
    ).rejects.toThrow(NqFormatError);
    await expect(
      loadGgufModel(
        write(
          'nokey.gguf',
          serializeGguf(
            meta.filter((e) => e.key !== 'llama.block_count'),
            tensors,
          ),
        ),
      ),
    ).rejects.toThrow(/llama\.block_count" is missing/);
    await expect(
      loadGgufModel(
        write('scaled.gguf', serializeGguf([...meta, kv.string('llama.rope.scaling.type', 'yarn')], tensors)),
      ),
    ).rejects.toThrow(NqUnsupportedError);
    await expect(loadGgufModel(path.join(dir, 'does-not-exist.gguf'))).rejects.toThrow();
  });
});
