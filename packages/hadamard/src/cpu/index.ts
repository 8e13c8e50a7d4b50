/** @nq/hadamard/cpu — the CPU reference kernels (plain TypeScript, typed arrays, no allocation per row). */

export { fwht } from './fwht.js';
export { mixKronecker } from './kronecker.js';
export { applyOrthogonalBlock } from './orthogonal.js';
export {
  asCompiled,
  fwhtRows,
  type RotateOptions,
  type RotationLike,
  RowWork,
  rotate,
  rotateInverse,
  rotateLeft,
} from './rotate.js';
export { type WasmFwht, wasmFwht } from './wasm-fwht.js';
