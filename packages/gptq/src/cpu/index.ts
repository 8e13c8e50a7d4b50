export { f64Threads, setF64Threads } from './f64-threads.js';
export { F64Workspace, type GemmSubOptions, type Operand, wasmF64Available } from './f64-workspace.js';
export * from './gptq.js';
export * from './hessian.js';
export * from './linalg.js';
export {
  blockedScratchDoubles,
  choleskyLowerBlocked,
  lowerInverseBlocked,
  upperCholeskyOfInverseBlocked,
  upperCholeskyOfInverseFromReversed,
  upperCholeskyOfInverseInto,
} from './linalg-blocked.js';
export * from './schemes.js';
