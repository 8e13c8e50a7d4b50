import { checkGroupDivides, resolveTurboQuantSpec, type TurboQuantSpec } from './spec.js';

/** Storage of one TurboQuant-coded tensor, in bits, by part. */
export interface TensorBits {
  codes: number;
  /** One float32 per (row, group). */
  scales: number;
  /** 'fitted': 2^bits float32 centroids; 'sphere': 0 (a fixed function of groupSize and bits). */
  codebook: number;
  /** The tensor's sign vector, stored as groupSize bits (it can also be regenerated from the seed). */
  signs: number;
  total: number;
  params: number;
  bitsPerParameter: number;
}

/** Honest storage of a rows × cols weight under a TurboQuant spec (RTN or GPTQ: same layout). */
export function turboquantTensorBits(rows: number, cols: number, spec: TurboQuantSpec = {}): TensorBits {
  const s = resolveTurboQuantSpec(spec);
  checkGroupDivides(cols, s.groupSize, 'cols');
  const params = rows * cols;
  const codes = params * s.bits;
  const scales = rows * (cols / s.groupSize) * 32;
  const codebook = s.codebook === 'fitted' ? (1 << s.bits) * 32 : 0;
  const signs = s.groupSize;
  const total = codes + scales + codebook + signs;
  return { codes, scales, codebook, signs, total, params, bitsPerParameter: total / params };
}
