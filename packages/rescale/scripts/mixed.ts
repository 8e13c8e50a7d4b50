import type { Matrix } from '@nq/core';
import { LINEAR_NAMES, type LinearName } from '@nq/model';
import { fakeQuant, type QuantSpec } from '@nq/quant-fp';
import { openDocsTable, scoreCandidate } from '@nq/turboquant';
import { allocateRoles, intWeightBits, mixedRoleModel, type RoleSensitivity } from '../src/index.js';

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const windows = Number(opt('windows') ?? 32);
const lowBits = Number(opt('low') ?? 3);
const highBits = Number(opt('high') ?? 8);
const { model, reference } = await openDocsTable({ windows });
const spec = (bits: number): QuantSpec => ({
  format: 'int',
  bits,
  granularity: 'group',
  groupSize: 128,
  symmetric: false,
});
const lo = (w: Matrix) => fakeQuant(w, spec(lowBits));
const hi = (w: Matrix) => fakeQuant(w, spec(highBits));

// bits per linear weight of a role set at the high width
let linearParams = 0;
const roleBits = new Map<LinearName, { low: number; high: number }>();
for (const n of LINEAR_NAMES) roleBits.set(n, { low: 0, high: 0 });
for (const L of model.weights.layers) {
  for (const n of LINEAR_NAMES) {
    const { rows, cols } = L[n];
    linearParams += rows * cols;
    const b = roleBits.get(n)!;
    b.low += intWeightBits(rows, cols, spec(lowBits));
    b.high += intWeightBits(rows, cols, spec(highBits));
  }
}
const base = [...roleBits.values()].reduce((a, b) => a + b.low, 0) / linearParams;
const bitsOf = (high: Set<LinearName>) =>
  [...roleBits.entries()].reduce((a, [n, b]) => a + (high.has(n) ? b.high : b.low), 0) / linearParams;

const all = scoreCandidate(reference, mixedRoleModel(model, new Set(), lo, hi));
console.error(`all INT${lowBits}: KLD ${all.kld_mean.toFixed(5)}`);
const sens: RoleSensitivity[] = [];
for (const role of LINEAR_NAMES) {
  const r = scoreCandidate(reference, mixedRoleModel(model, new Set([role]), lo, hi));
  const extra = bitsOf(new Set([role])) - base;
  sens.push({
    role,
    kld: r.kld_mean,
    kldSe: r.kld_se,
    deltaKld: all.kld_mean - r.kld_mean,
    extraBitsPerParam: extra,
    gainPerBit: (all.kld_mean - r.kld_mean) / extra,
  });
  console.error(`${role}: KLD ${r.kld_mean.toFixed(5)}`);
}
const lines = [
  `nq-docs-5M, docs-valid ${reference.windows.length} windows × 256 (spread); INT${lowBits} vs INT${highBits} asym g128 RTN; all INT${lowBits}: KLD ${all.kld_mean.toFixed(5)} ± ${all.kld_se.toFixed(5)}, PPL ${all.ppl.toFixed(3)}, ${base.toFixed(3)} bits per linear weight.`,
  '',
  `| role raised to INT${highBits} | KLD ± SE | ΔKLD | extra bits / linear weight | ΔKLD per bit |`,
  '|---|---|---|---|---|',
  ...[...sens]
    .sort((a, b) => b.gainPerBit - a.gainPerBit)
    .map(
      (s) =>
        `| ${s.role} | ${s.kld.toFixed(5)} ± ${s.kldSe.toFixed(5)} | ${s.deltaKld.toFixed(5)} | ${s.extraBitsPerParam.toFixed(3)} | ${s.gainPerBit.toFixed(5)} |`,
    ),
  '',
  '| budget (bits / linear weight) | roles at high width | bits / linear weight | PPL | KLD ± SE | top-1 |',
  '|---|---|---|---|---|---|',
];
for (const budget of [base + 0.5, base + 1, base + 2]) {
  const a = allocateRoles(sens, base, budget);
  const r = scoreCandidate(reference, mixedRoleModel(model, new Set(a.high), lo, hi));
  lines.push(
    `| ${budget.toFixed(2)} | ${a.high.join(', ') || '—'} | ${a.bitsPerParam.toFixed(3)} | ${r.ppl.toFixed(3)} | ${r.kld_mean.toFixed(5)} ± ${r.kld_se.toFixed(5)} | ${(100 * r.top1).toFixed(2)}% |`,
  );
}
console.log(lines.join('\n'));
