import fs from 'node:fs';
import path from 'node:path';
import { NqFormatError, NqInputError, NqUnsupportedError } from '@nq/core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  detectModelFormat,
  forward,
  loadLlama2c,
  loadModel,
  loadSafetensors,
  randomModel,
  TINY_CONFIG,
} from '../src/index.js';
import type { LoadedModel } from '../src/types.js';
import { HAVE_NQ5M, NQ5M_BIN, NQ5M_SKIP_REASON, NQ5M_ST, relErr, tmpDir } from './helpers/shared.js';
import { llama2cBytes, safetensorsBytes, writeFile } from './helpers/writers.js';

const dir = tmpDir('loaders');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const model = randomModel(TINY_CONFIG, 7);

function expectSameWeights(a: LoadedModel, b: LoadedModel, tol = 0): void {
  expect(a.config).toEqual(b.config);
  const check = (x: Float32Array, y: Float32Array) => {
    expect(x.length).toBe(y.length);
    let d = 0;
    for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i]! - y[i]!));
    expect(d).toBeLessThanOrEqual(tol);
  };
  check(a.weights.tokenEmbedding.data, b.weights.tokenEmbedding.data);
  check(a.weights.output.data, b.weights.output.data);
  check(a.weights.finalNorm, b.weights.finalNorm);
  a.weights.layers.forEach((la, i) => {
    const lb = b.weights.layers[i]!;
    for (const k of ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const) check(la[k].data, lb[k].data);
    check(la.attnNorm, lb.attnNorm);
    check(la.ffnNorm, lb.ffnNorm);
  });
}

async function expectFormatError(p: Promise<unknown>, match?: RegExp): Promise<void> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(NqFormatError);
  if (match) expect((e as Error).message).toMatch(match);
}

describe('loadLlama2c', () => {
  it('reads a legacy file with a separate classifier (negative vocab) exactly', async () => {
    const p = writeFile(path.join(dir, 'sep.bin'), llama2cBytes(model));
    const m = await loadLlama2c(p);
    expectSameWeights(m, model);
    expect(m.source).toEqual({ format: 'llama2c', path: p });
  });

  it('reads a legacy file with a shared classifier (positive vocab): output = embeddings', async () => {
    const p = writeFile(path.join(dir, 'shared.bin'), llama2cBytes(model, { shared: true }));
    const m = await loadLlama2c(p);
    expect(m.weights.output.data).toEqual(model.weights.tokenEmbedding.data);
    expect(m.weights.output.data).not.toBe(m.weights.tokenEmbedding.data); // a copy, so transforms can diverge
  });

  it('reads version-1 files (ak42 header), shared and separate', async () => {
    const a = await loadLlama2c(writeFile(path.join(dir, 'v1.bin'), llama2cBytes(model, { version: 1 })));
    expectSameWeights(a, model);
    const b = await loadLlama2c(
      writeFile(path.join(dir, 'v1s.bin'), llama2cBytes(model, { version: 1, shared: true })),
    );
    expect(b.weights.output.data).toEqual(model.weights.tokenEmbedding.data);
  });

  it('rejects truncated files, wrong classifier sign, hostile headers and bad geometry before allocating', async () => {
    const good = llama2cBytes(model);
    await expectFormatError(
      loadLlama2c(writeFile(path.join(dir, 't1.bin'), good.subarray(0, good.length - 4))),
      /does not match its header/,
    );
    await expectFormatError(
      loadLlama2c(writeFile(path.join(dir, 't2.bin'), good.subarray(0, 20))),
      /too short/,
    );
    // Sign flipped to "shared": the file now has one classifier too many, and the message says so.
    const flipped = good.slice();
    new DataView(flipped.buffer).setInt32(20, TINY_CONFIG.vocabSize, true);
    await expectFormatError(loadLlama2c(writeFile(path.join(dir, 't3.bin'), flipped)), /classifier/);
    // A hostile header claiming a huge model in a small file.
    const hostile = good.slice();
    const dv = new DataView(hostile.buffer);
    dv.setInt32(0, 65536, true);
    dv.setInt32(4, 1 << 20, true);
    dv.setInt32(8, 1000, true);
    dv.setInt32(12, 64, true);
    dv.setInt32(16, 64, true);
    await expectFormatError(loadLlama2c(writeFile(path.join(dir, 't4.bin'), hostile)), /needs \d+ bytes/);
    const absurd = good.slice();
    new DataView(absurd.buffer).setInt32(0, 2_000_000_000, true);
    await expectFormatError(loadLlama2c(writeFile(path.join(dir, 't5.bin'), absurd)), /dim/);
    const geometry = good.slice();
    new DataView(geometry.buffer).setInt32(12, 5, true); // 32 not divisible by 5 heads
    await expectFormatError(loadLlama2c(writeFile(path.join(dir, 't6.bin'), geometry)), /divisible/);
    const zeroLayers = good.slice();
    new DataView(zeroLayers.buffer).setInt32(8, 0, true);
    await expectFormatError(loadLlama2c(writeFile(path.join(dir, 't7.bin'), zeroLayers)), /nLayers/);
    const v1 = llama2cBytes(model, { version: 1 });
    const v2 = v1.slice();
    new DataView(v2.buffer).setInt32(4, 2, true);
    await expect(loadLlama2c(writeFile(path.join(dir, 't8.bin'), v2))).rejects.toBeInstanceOf(
      NqUnsupportedError,
    );
    const badFlag = v1.slice();
    badFlag[36] = 7;
    await expectFormatError(loadLlama2c(writeFile(path.join(dir, 't9.bin'), badFlag)), /shared_classifier/);
  });

  it('names the path argument when the file does not exist', async () => {
    const e = await loadLlama2c(path.join(dir, 'missing.bin')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NqInputError);
    expect((e as NqInputError).argument).toBe('path');
  });
});

describe('loadSafetensors', () => {
  it('reads F32 HF layout and undoes the rotate-half q/k permutation (same logits as the source model)', async () => {
    const { bytes, config } = safetensorsBytes(model);
    const p = writeFile(path.join(dir, 'm.safetensors'), bytes);
    writeFile(path.join(dir, 'config.json'), config);
    const m = await loadSafetensors(p);
    expectSameWeights(m, model);
    const ids = [1, 5, 9, 33, 2, 60, 17];
    expect(relErr(forward(m, ids).data, forward(model, ids).data)).toBe(0);
  });

  it('widens BF16 and F16 and handles a tied classifier', async () => {
    const sub = path.join(dir, 'half');
    fs.mkdirSync(sub);
    for (const dtype of ['BF16', 'F16'] as const) {
      const { bytes, config } = safetensorsBytes(model, dtype, { tied: true });
      const p = writeFile(path.join(sub, `${dtype}.safetensors`), bytes);
      const cfg = writeFile(path.join(sub, `${dtype}.json`), config);
      const m = await loadSafetensors(p, cfg);
      // bf16 keeps 8 mantissa bits, f16 11: relative error ≤ 2^-8 / 2^-11 of each weight.
      const tiedModel = { ...model, weights: { ...model.weights, output: model.weights.tokenEmbedding } };
      expectSameWeights(m, tiedModel, dtype === 'BF16' ? 0.02 : 0.003);
      expect(m.weights.output.data).toEqual(m.weights.tokenEmbedding.data);
    }
  });

  it('rejects absurd header lengths, out-of-range offsets, bad JSON, wrong shapes and missing tensors', async () => {
    const { bytes, config } = safetensorsBytes(model);
    const sub = path.join(dir, 'bad');
    fs.mkdirSync(sub);
    writeFile(path.join(sub, 'config.json'), config);
    const put = (name: string, b: Uint8Array) => writeFile(path.join(sub, name), b);
    const huge = bytes.slice();
    new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
    await expectFormatError(loadSafetensors(put('huge.safetensors', huge)), /absurd/);
    await expectFormatError(
      loadSafetensors(put('trunc.safetensors', bytes.subarray(0, bytes.length - 100))),
      /outside|truncated/,
    );
    await expectFormatError(loadSafetensors(put('tiny.safetensors', bytes.subarray(0, 5))), /too short/);
    const badJson = bytes.slice();
    badJson[8] = 0x5b; // '[' instead of '{'
    await expectFormatError(loadSafetensors(put('json.safetensors', badJson)), /JSON/);
    // Rewrite the header: wrong shape for one tensor, then a missing tensor.
    const hdrLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + hdrLen)));
    const rewrite = (h: unknown) => {
      const j = new TextEncoder().encode(JSON.stringify(h).padEnd(hdrLen, ' '));
      const out = bytes.slice();
      out.set(j, 8);
      return out;
    };
    const wrongShape = structuredClone(header);
    wrongShape['model.norm.weight'].shape = [TINY_CONFIG.dim / 2, 2];
    await expectFormatError(loadSafetensors(put('shape.safetensors', rewrite(wrongShape))), /shape/);
    const missing = structuredClone(header);
    missing['model.layers.1.mlp.up_proj.misnamed'] = missing['model.layers.1.mlp.up_proj.weight'];
    delete missing['model.layers.1.mlp.up_proj.weight'];
    await expectFormatError(loadSafetensors(put('missing.safetensors', rewrite(missing))), /missing/);
    const overlap = structuredClone(header);
    overlap['model.norm.weight'].data_offsets = [0, 8];
    await expectFormatError(loadSafetensors(put('span.safetensors', rewrite(overlap))), /needs/);
    const i8 = structuredClone(header);
    i8['model.norm.weight'].dtype = 'I8';
    i8['model.norm.weight'].data_offsets = [0, TINY_CONFIG.dim];
    await expect(loadSafetensors(put('i8.safetensors', rewrite(i8)))).rejects.toBeInstanceOf(
      NqUnsupportedError,
    );
  });

  it('needs config.json: missing → NqInputError naming configPath; unsupported rope scaling → NqUnsupportedError', async () => {
    const sub = path.join(dir, 'nocfg');
    fs.mkdirSync(sub);
    const p = writeFile(path.join(sub, 'm.safetensors'), safetensorsBytes(model).bytes);
    const e = await loadSafetensors(p).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NqInputError);
    expect((e as NqInputError).argument).toBe('configPath');
    const cfg = JSON.parse(safetensorsBytes(model).config);
    cfg.rope_scaling = { type: 'linear', factor: 2 };
    await expect(
      loadSafetensors(p, writeFile(path.join(sub, 'c.json'), JSON.stringify(cfg))),
    ).rejects.toBeInstanceOf(NqUnsupportedError);
    cfg.rope_scaling = null;
    cfg.num_attention_heads = 5;
    await expectFormatError(
      loadSafetensors(p, writeFile(path.join(sub, 'c2.json'), JSON.stringify(cfg))),
      /divisible/,
    );
  });
});

describe('loadModel', () => {
  it('dispatches on magic bytes, then extension', async () => {
    const st = writeFile(path.join(dir, 'model.weights'), safetensorsBytes(model).bytes);
    writeFile(path.join(dir, 'config.json'), safetensorsBytes(model).config);
    expect(detectModelFormat(st)).toBe('safetensors');
    expect((await loadModel(st)).source.format).toBe('safetensors');
    const bin = writeFile(path.join(dir, 'l.bin'), llama2cBytes(model));
    expect(detectModelFormat(bin)).toBe('llama2c');
    expect(detectModelFormat(writeFile(path.join(dir, 'v1.dat'), llama2cBytes(model, { version: 1 })))).toBe(
      'llama2c',
    );
    expect(
      detectModelFormat(writeFile(path.join(dir, 'x.gguf'), new TextEncoder().encode('GGUF\x03\0\0\0'))),
    ).toBe('gguf');
    expect(() => detectModelFormat(writeFile(path.join(dir, 'x.txt'), 'hello world'))).toThrow(
      NqUnsupportedError,
    );
  });

  it.skipIf(!HAVE_NQ5M)(
    `loads nq-docs-5M from .bin and safetensors to identical weights (${HAVE_NQ5M ? 'shared files present' : NQ5M_SKIP_REASON})`,
    async () => {
      const a = await loadModel(NQ5M_BIN);
      const b = await loadModel(NQ5M_ST);
      expect(a.config).toMatchObject({
        dim: 256,
        nLayers: 4,
        nHeads: 8,
        nKvHeads: 2,
        hiddenDim: 768,
        vocabSize: 4096,
        seqLen: 256,
      });
      expectSameWeights(a, b);
    },
  );
});
