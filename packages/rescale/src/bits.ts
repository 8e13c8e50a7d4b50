import { NqUnsupportedError } from '@nq/core';
import type { LoadedModel } from '@nq/model';
import { type QuantSpec, resolveSpec } from '@nq/quant-fp';
import { type ModelBits, modelBits } from '@nq/turboquant';

/**
 * Storage bits of a rows × cols weight under an INT QuantSpec: codes, one float32 scale per unit
 * (group / row / column / tensor) and, when asymmetric, one integer zero point of `bits` bits per unit.
 */
export function intWeightBits(rows: number, cols: number, spec: QuantSpec): number {
  const s = resolveSpec(spec, 'spec');
  if (s.format !== 'int')
    throw new NqUnsupportedError(
      `bits of weight format '${s.format}'`,
      'Supported: int (for fp formats count bits with @nq/quant-fp).',
    );
  let units: number;
  switch (s.granularity) {
    case 'group':
      units = rows * Math.ceil(cols / s.groupSize);
      break;
    case 'token':
      units = rows;
      break;
    case 'channel':
      units = cols;
      break;
    default:
      units = 1;
  }
  return rows * cols * s.bits + units * (32 + (s.symmetric ? 0 : s.bits));
}

/**
 * Bits per parameter of a rescaled (and optionally rotated) model with INT weights: folded rescales
 * cost nothing (they live in the RMSNorm scales and up_proj rows, which are stored anyway); an online
 * random Hadamard per linear input costs its sign vector (n bits; 4 inputs per block); embeddings,
 * norms and the classifier are float32.
 */
export function rescaledModelBits(
  model: LoadedModel,
  spec: QuantSpec,
  opts: { rotationSigns?: boolean } = {},
): ModelBits {
  const b = modelBits(model, (rows, cols) => intWeightBits(rows, cols, spec));
  if (!opts.rotationSigns) return b;
  const c = model.config;
  const signs = c.nLayers * (c.dim /* attn */ + c.dim /* o */ + c.dim /* ffn */ + c.hiddenDim) /* down */;
  const linearBits = b.linearBits + signs;
  return {
    ...b,
    linearBits,
    linearBitsPerParameter: linearBits / b.linearParams,
    bitsPerParameter: (linearBits + b.keptBits) / (b.linearParams + b.keptParams),
  };
}
