/**
 * @nq/rescale — identity-preserving channel rescaling W ← W·diag(s), X ← X·diag(1/s): SmoothQuant,
 * the Hessian-diagonal rule s = H_jj^α, and AWQ's grid search; folding into RMSNorm scales and
 * up_proj rows; honest bits per parameter. CPU only (see README).
 */

export * from './awq.js';
export * from './bits.js';
export * from './mixed.js';
export * from './model.js';
export * from './rules.js';
