/** @nq/hadamard/cpu — the CPU reference kernels (plain TypeScript, typed arrays, no allocation per row). */
export { rotate, rotateInverse, rotateLeft, fwhtRows, asCompiled, RowWork, type RotateOptions, type RotationLike } from './rotate.js';
export { fwht } from './fwht.js';
export { mixKronecker } from './kronecker.js';
export { applyOrthogonalBlock } from './orthogonal.js';
