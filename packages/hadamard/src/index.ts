/**
 * @nq/hadamard — rotations for W4A4 quantization. This entry holds the backend-neutral API (the
 * RotationSpec contract, builders, Hadamard constructions, dense materialization) and re-exports the
 * CPU kernels; GPU backends live in '@nq/hadamard/webgpu' and '@nq/hadamard/gpujs'.
 */

export {
  blockHadamard,
  cascade,
  identity,
  randomBlockOrthogonal,
  randomHadamard,
  randomOrthogonal,
  seededSigns,
} from './builders.js';
export {
  assertSupportedSize,
  blockFactors,
  type Construction,
  hadamardConstruction,
  hadamardMatrix,
  isSupportedSize,
  MAX_BASE_ORDER,
  MODEL_HADAMARD_ORDERS,
  nearestSupportedSizes,
} from './construct/orders.js';
export { type RotateOptions, type RotationLike, rotate, rotateInverse, rotateLeft } from './cpu/rotate.js';
export { toDense } from './dense.js';
export { haarOrthogonal } from './qr.js';
export {
  type CompiledRotation,
  type CompiledStage,
  compileRotation,
  type HadamardStage,
  MAX_STAGES,
  type Numbers,
  ORTHOGONAL_TOLERANCE,
  type OrthogonalStage,
  parseRotationSpec,
  ROTATION_SPEC_VERSION,
  type RotationSpec,
  type RotationStage,
  serializeRotationSpec,
  validateRotationSpec,
} from './spec.js';
