import { forwardWebGPU, type GpuForwardHooks, type GpuModel } from '@nq/model/webgpu';
import type { RowFn } from '../run-windows.js';
import type { EvalWindow } from '../windows.js';

/**
 * runWindows on the GPU: every window through the uploaded model (+ GPU hooks); its logits are read
 * back (T × vocab float32) and each scored row handed to `onRow` in window order, on the CPU (the
 * same float64 log-softmax and statistics as the CPU backend). The next window is submitted before
 * the current one is scored, so GPU and CPU work overlap.
 */
export async function runWindowsWebGPU(
  gm: GpuModel,
  tokens: Int32Array,
  windows: readonly EvalWindow[],
  onRow: RowFn,
  opts: { hooks?: GpuForwardHooks; afterWindow?: (index: number, w: EvalWindow) => void } = {},
): Promise<void> {
  const fo = opts.hooks ? { hooks: opts.hooks } : {};
  const ids = (w: EvalWindow) => tokens.subarray(w.start, w.start + w.length);
  let next = windows.length > 0 ? forwardWebGPU(gm, ids(windows[0]!), fo) : null;
  try {
    for (let i = 0; i < windows.length; i++) {
      const w = windows[i]!;
      const logits = (await next!).data;
      next = i + 1 < windows.length ? forwardWebGPU(gm, ids(windows[i + 1]!), fo) : null;
      const win = ids(w);
      for (let j = w.scoreFrom; j < w.length - 1; j++) onRow(logits, w, j, win[j + 1]!);
      opts.afterWindow?.(i, w);
    }
  } finally {
    // A failure while scoring leaves one window in flight: let it finish before buffers go away.
    await next?.catch(() => undefined);
  }
}
