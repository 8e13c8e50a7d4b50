import { NqInputError } from '@nq/core';
import { cloneModel, LINEAR_NAMES, type LinearName, type LoadedModel } from '@nq/model';

/*
 * Mixed precision by tensor role: every block linear of one role (q, k, v, o, gate, up, down — all
 * layers together) gets one of two bit widths. Sensitivity of a role = how much the model's KLD drops
 * when that role alone is raised from the low to the high width (everything else low), per extra bit
 * per linear parameter; a budget (mean bits per linear weight) is then filled greedily by that ratio.
 */

export interface RoleSensitivity {
  role: LinearName;
  /** KLD with every role low except this one high, and its standard error. */
  kld: number;
  kldSe: number;
  /** KLD(all low) − kld: the gain of raising this role. */
  deltaKld: number;
  /** Extra bits per linear parameter (over all linears) that raising this role costs. */
  extraBitsPerParam: number;
  /** deltaKld / extraBitsPerParam. */
  gainPerBit: number;
}

/** A model whose block linears of roles in `high` use `quantHigh`, the others `quantLow`. */
export function mixedRoleModel(
  model: LoadedModel,
  high: ReadonlySet<LinearName>,
  quantLow: (
    w: LoadedModel['weights']['layers'][number]['q'],
  ) => LoadedModel['weights']['layers'][number]['q'],
  quantHigh: (
    w: LoadedModel['weights']['layers'][number]['q'],
  ) => LoadedModel['weights']['layers'][number]['q'],
): LoadedModel {
  const m = cloneModel(model);
  for (const L of m.weights.layers)
    for (const n of LINEAR_NAMES) L[n] = high.has(n) ? quantHigh(L[n]) : quantLow(L[n]);
  m.transforms = [...(m.transforms ?? []), `mixed-roles(high: ${[...high].join(',') || 'none'})`];
  return m;
}

/**
 * Greedy allocation under a budget of mean bits per linear weight: roles sorted by gainPerBit
 * (largest first) are raised while the budget allows. `baseBitsPerParam` = mean bits per linear
 * weight with every role low.
 */
export function allocateRoles(
  sens: readonly RoleSensitivity[],
  baseBitsPerParam: number,
  budgetBitsPerParam: number,
): { high: LinearName[]; bitsPerParam: number } {
  if (!(budgetBitsPerParam >= baseBitsPerParam)) {
    throw new NqInputError(
      'budgetBitsPerParam',
      `is ${budgetBitsPerParam}, below the all-low cost ${baseBitsPerParam.toFixed(3)}`,
      `Use a budget ≥ ${baseBitsPerParam.toFixed(3)} bits per linear weight.`,
    );
  }
  const order = [...sens].filter((s) => s.gainPerBit > 0).sort((a, b) => b.gainPerBit - a.gainPerBit);
  const high: LinearName[] = [];
  let bits = baseBitsPerParam;
  for (const s of order) {
    if (bits + s.extraBitsPerParam <= budgetBitsPerParam + 1e-12) {
      high.push(s.role);
      bits += s.extraBitsPerParam;
    }
  }
  return { high, bitsPerParam: bits };
}
