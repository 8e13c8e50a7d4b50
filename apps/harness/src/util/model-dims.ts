import fs from 'node:fs';
import path from 'node:path';
import { NqFormatError, NqUnsupportedError } from '@nq/core';

/** The sizes a layer study needs to build its grid, read without loading the weights. */
export interface ModelDims {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
}

/**
 * llama2.c `.bin`: the 7-int32 header (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size,
 * seq_len). `.safetensors`: the Hugging Face config.json beside it. GGUF is not read here yet.
 */
export function readModelDims(file: string): ModelDims {
  if (file.endsWith('.bin')) {
    const fd = fs.openSync(file, 'r');
    try {
      const b = Buffer.alloc(28);
      if (fs.readSync(fd, b, 0, 28, 0) !== 28)
        throw new NqFormatError(file, 'is shorter than a llama2.c header (28 bytes)');
      const h = [0, 1, 2, 3].map((i) => b.readInt32LE(4 * i));
      return { dim: h[0]!, hiddenDim: h[1]!, nLayers: h[2]!, nHeads: h[3]! };
    } finally {
      fs.closeSync(fd);
    }
  }
  if (file.endsWith('.safetensors')) {
    const cfg = path.join(path.dirname(file), 'config.json');
    if (!fs.existsSync(cfg)) throw new NqFormatError(file, 'has no config.json beside it');
    const j = JSON.parse(fs.readFileSync(cfg, 'utf8'));
    return {
      dim: j.hidden_size,
      hiddenDim: j.intermediate_size,
      nLayers: j.num_hidden_layers,
      nHeads: j.num_attention_heads,
    };
  }
  throw new NqUnsupportedError(
    `layer study on ${path.basename(file)}`,
    'Use the llama2.c .bin or the .safetensors file of the model.',
  );
}
