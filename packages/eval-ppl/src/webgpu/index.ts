export { prepareWindowsBenchWebGPU, type WindowsBenchWebGPU } from './bench-windows.js';
export { buildReferenceWebGPU, scoreCandidateWebGPU } from './candidate.js';
export { webgpuEvalRunner } from './eval-runner.js';
export { actQuantSpec, type GpuRecipe, gpuRecipeHooks, prepareRecipeWebGPU } from './recipe-hooks.js';
export { runWindowsWebGPU } from './run-windows.js';
