/**
 * @nq/hadamard — rotations for W4A4 quantization. This entry holds the backend-neutral API (the
 * RotationSpec contract, builders, Hadamard constructions, dense materialization) and re-exports the
 * CPU kernels; GPU backends live in '@nq/hadamard/webgpu' and '@nq/hadamard/gpujs'.
 */
export {
  type RotationSpec,
  type RotationStage,
  type HadamardStage,
  type OrthogonalStage,
  type Numbers,
  type CompiledRotation,
  type CompiledStage,
  ROTATION_SPEC_VERSION,
  MAX_STAGES,
  ORTHOGONAL_TOLERANCE,
  compileRotation,
  validateRotationSpec,
  serializeRotationSpec,
  parseRotationSpec,
} from './spec.js';
export { identity, randomHadamard, blockHadamard, randomOrthogonal, randomBlockOrthogonal, cascade, seededSigns } from './builders.js';
export {
  type Construction,
  MODEL_HADAMARD_ORDERS,
  MAX_BASE_ORDER,
  hadamardMatrix,
  hadamardConstruction,
  blockFactors,
  isSupportedSize,
  nearestSupportedSizes,
  assertSupportedSize,
} from './construct/orders.js';
export { toDense } from './dense.js';
export { haarOrthogonal } from './qr.js';
export { rotate, rotateInverse, rotateLeft, type RotateOptions, type RotationLike } from './cpu/rotate.js';
