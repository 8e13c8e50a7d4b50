// R_lin_q4: the correction map's own weights quantized to 4 bits (per output channel, symmetric RTN,
// round half to even) with @nq/quant-int4 — how much of the linear gain survives a 4-bit corrector.

import { fakeQuantInt } from '@nq/quant-int4';
import type { LinearCorrection } from './ridge.js';

/**
 * - 'residual': the stored weights are the correction B (ŷ = y + y·B_q + b); the identity path is
 *   exact. This is how a corrector would be deployed next to a quantized layer.
 * - 'map': the whole map A = I + B is stored in 4 bits (ŷ = y·A_q + b); literal "the map's weights".
 * Weights are out × in (Bᵀ), one scale per output channel: s = max|row|/7, q ∈ [−8, 7].
 * The bias stays in float (m numbers per sub-layer).
 */
export type MapQuantForm = 'residual' | 'map';

export function quantizeCorrection(
  corr: LinearCorrection,
  bits = 4,
  form: MapQuantForm = 'residual',
): LinearCorrection {
  const { d, m } = corr;
  const wt = new Float32Array(m * d); // out × in
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < m; j++) wt[j * d + i] = corr.B[i * m + j]! + (form === 'map' && i === j ? 1 : 0);
  }
  const q = fakeQuantInt(
    { rows: m, cols: d, data: wt },
    { format: 'int', bits, granularity: 'token', symmetric: true },
    'correction',
  );
  const B = new Float64Array(d * m);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < m; j++) B[i * m + j] = q.data[j * d + i]! - (form === 'map' && i === j ? 1 : 0);
  }
  return { ...corr, B, bias: corr.bias.slice() };
}
