/**
 * @nq/turboquant — the TurboQuant weight recipe: per-group L2 normalization, random sign sandwich +
 * FWHT, Lloyd-Max scalar centroids, nearest-centroid coding, inverse transform, norm correction;
 * also as GPTQ's inner quantizer; honest bits per parameter. CPU only (see README).
 */

export { type TensorBits, turboquantTensorBits } from './bits.js';
export {
  cellMoments,
  type Density1D,
  lloydMaxForDensity,
  sphereCoordinateCodebook,
  tabulateDensity,
} from './codebook.js';
export * from './cpu/index.js';
export {
  type GptqTurboQuantOptions,
  gptqTurboQuant,
  rotateGroupsRight,
  rotateHessian,
  turboquantScheme,
  unrotateGroupsRight,
} from './gptq-scheme.js';
export * from './model/index.js';
export { type ResolvedTurboQuantSpec, resolveTurboQuantSpec, type TurboQuantSpec } from './spec.js';
