// The study's decision rules, exactly as stated in issue 11 (the seed study's rules).

export type Verdict = 'supported' | 'refuted' | 'unclear';

/**
 * Q1 (linear recoverability): supported if median R_lin_q4 ≥ 0.35 and Spearman ≥ 0.35; refuted if
 * median R_lin_q4 < 0.24 and Spearman < 0; otherwise unclear. A NaN Spearman (too few units, or a
 * constant side) satisfies neither inequality, so it gives 'unclear'.
 */
export function verdictQ1(medianRq4: number, rho: number): Verdict {
  if (medianRq4 >= 0.35 && rho >= 0.35) return 'supported';
  if (medianRq4 < 0.24 && rho < 0) return 'refuted';
  return 'unclear';
}

/**
 * Q2 (learned correction): supported if the features-only predictor's held-out correction MSE is at
 * least 15% below the embedding-only one (mseFeat ≤ 0.85·mseEmb) and the best feature-based variant
 * (features-only or both) improves the downstream loss by ≥ 0.01 nats; refuted if features-only is
 * worse than embedding-only (mseFeat > mseEmb) and no variant (embedding, features, both) improves the
 * loss (every gain ≤ 0); otherwise unclear. Gains are loss_quantized − loss_corrected (> 0 = better).
 */
export function verdictQ2(q: {
  mseEmb: number;
  mseFeat: number;
  gainEmb: number;
  gainFeat: number;
  gainBoth: number;
}): Verdict {
  const bestFeatureGain = Math.max(q.gainFeat, q.gainBoth);
  if (q.mseFeat <= 0.85 * q.mseEmb && bestFeatureGain >= 0.01) return 'supported';
  if (q.mseFeat > q.mseEmb && Math.max(q.gainEmb, q.gainFeat, q.gainBoth) <= 0) return 'refuted';
  return 'unclear';
}
