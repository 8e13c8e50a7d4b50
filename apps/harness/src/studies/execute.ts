import type { Executor } from '../runner.js';
import type { BackendTag, CellSpec, KernelCell, LayerCell } from '../sweep/cell.js';
import type { Cell } from '../sweep/grid.js';
import { kernelBitsMetrics } from '../techniques/kernel-bits.js';
import { cpuOps, opsFor } from '../techniques/ops.js';
import {
  type AsyncKernelOps,
  type CellOutcome,
  KernelMemo,
  runKernelCell,
  runKernelCellAsync,
} from './kernel-study.js';

/**
 * The executor for every study kind. Kernel and layer cells run their rotation and quantizers on the
 * backend their spec names (`spec.backend`, absent = the CPU reference); a GPU backend is acquired on
 * the first cell that needs it, and when it cannot be had the cell fails with @nq/core's
 * NqBackendError — never a silent CPU run under a GPU label. The model, discover and geometry studies
 * (and with them @nq/model, @nq/eval-ppl, @nq/es-search, @nq/geometry-correction) are loaded only
 * when such a cell runs.
 */
export function cellExecutor(): Executor {
  const cpu = cpuOps();
  const gpu = new Map<string, Promise<AsyncKernelOps>>();
  const opsOf = (tag: BackendTag | undefined): Promise<AsyncKernelOps> => {
    const key = JSON.stringify(tag);
    if (!gpu.has(key))
      gpu.set(
        key,
        opsFor(tag).then((ops) => {
          // A stored cell names the adapter it ran on: running it on another one would file its
          // numbers under the wrong key.
          if (tag && ops.adapter !== tag.adapter)
            throw new Error(
              `the cell was computed on ${tag.name} adapter "${tag.adapter}", this machine has "${ops.adapter}"`,
            );
          return ops;
        }),
      );
    return gpu.get(key)!;
  };
  const memo = new KernelMemo();
  return async (spec: CellSpec, progress?: (msg: string) => void) => {
    if (spec.study === 'kernel') {
      const o = spec.backend
        ? await runKernelCellAsync(spec, await opsOf(spec.backend), memo)
        : runKernelCell(spec, cpu, memo);
      return withBits(spec, o);
    }
    if (spec.study === 'layer') {
      const { runLayerCell } = await import('./layer-study.js');
      return withBits(spec, await runLayerCell(spec, spec.backend ? await opsOf(spec.backend) : cpu, memo));
    }
    if (spec.study === 'discover') {
      const { runDiscoverCell } = await import('./discover-study.js');
      return runDiscoverCell(spec, memo, progress);
    }
    if (spec.study === 'geometry') {
      const { runGeometryCell } = await import('./geometry-study.js');
      return runGeometryCell(spec, memo, progress);
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

/** Every kernel/layer row carries the bits per element of its quantizers, as model rows do. */
function withBits(spec: KernelCell | LayerCell, o: CellOutcome): CellOutcome {
  return { ...o, metrics: { ...o.metrics, ...kernelBitsMetrics(spec, o.metrics) } };
}

/** The executor `nq sweep` and `nq reproduce` use (name kept from when it ran the CPU only). */
export const cpuExecutor = cellExecutor;

/** Splits cells into runnable ones and notes for those whose technique package is not available. */
export function filterAvailable(cells: Cell[]): { cells: Cell[]; notes: string[] } {
  const ops = cpuOps();
  const reasons = new Map<string, number>();
  const out: Cell[] = [];
  for (const c of cells) {
    const why =
      c.spec.study === 'kernel' || c.spec.study === 'layer'
        ? (ops.unavailable(c.spec.rotation.spec, c.spec.act.spec) ??
          ops.unavailable(null, c.spec.weight.spec?.quant ?? null))
        : null;
    if (why) reasons.set(why, (reasons.get(why) ?? 0) + 1);
    else out.push(c);
  }
  return { cells: out, notes: [...reasons].map(([why, n]) => `${n} cells left out — ${why}`) };
}
