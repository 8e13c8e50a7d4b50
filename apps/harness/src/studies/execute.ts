import type { Executor } from '../runner.js';
import type { CellSpec } from '../sweep/cell.js';
import type { Cell } from '../sweep/grid.js';
import { cpuOps } from '../techniques/ops.js';
import { KernelMemo, runKernelCell } from './kernel-study.js';

/**
 * The executor for every study kind, on the CPU backends. The model study (and with it @nq/model's
 * forward pass and @nq/eval-ppl) is loaded only when a model cell runs.
 */
export function cpuExecutor(): Executor {
  const ops = cpuOps();
  const memo = new KernelMemo();
  return async (spec: CellSpec, progress?: (msg: string) => void) => {
    if (spec.study === 'kernel') return runKernelCell(spec, ops, memo);
    if (spec.study === 'layer') {
      const { runLayerCell } = await import('./layer-study.js');
      return runLayerCell(spec, ops, memo);
    }
    const { runModelCell } = await import('./model-study.js');
    return runModelCell(
      spec,
      progress
        ? (p) =>
            progress(
              `${p.phase} ${p.windowsDone}/${p.windowsTotal} windows, ${p.tokensPerSecond.toFixed(0)} tok/s, ETA ${p.etaSeconds.toFixed(0)} s`,
            )
        : undefined,
    );
  };
}

/** Splits cells into runnable ones and notes for those whose technique package is not available. */
export function filterAvailable(cells: Cell[]): { cells: Cell[]; notes: string[] } {
  const ops = cpuOps();
  const reasons = new Map<string, number>();
  const out: Cell[] = [];
  for (const c of cells) {
    const why =
      c.spec.study !== 'model'
        ? (ops.unavailable(c.spec.rotation.spec, c.spec.act.spec) ??
          ops.unavailable(null, c.spec.weight.spec?.quant ?? null))
        : null;
    if (why) reasons.set(why, (reasons.get(why) ?? 0) + 1);
    else out.push(c);
  }
  return { cells: out, notes: [...reasons].map(([why, n]) => `${n} cells left out — ${why}`) };
}
