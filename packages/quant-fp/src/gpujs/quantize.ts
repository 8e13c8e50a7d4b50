import type { Matrix } from '@nq/core';
import { type GpuJsMode, getGpuJs } from '@nq/core/gpujs';
import { type QuantSpec, type ResolvedQuantSpec, resolveSpec } from '@nq/quant-int4';
import { cachedKernel, checkGpuJsInput, fakeQuantIntGpuJs, runKernel } from '@nq/quant-int4/gpujs';
import { E2M1, E4M3, E5M2 } from '../formats/minifloat.js';
import { amaxKernel, fpApplyKernel, fpParamsKernel, rmf } from './fp-kernels.js';

const withRmf = new WeakSet<object>();

/**
 * Fake-quant of any QuantSpec format on gpu.js (default mode 'webasm'). int goes to
 * @nq/quant-int4/gpujs. Clip search is CPU/WebGPU only.
 */
export async function fakeQuantGpuJs(
  x: Matrix,
  spec: QuantSpec | ResolvedQuantSpec,
  mode: GpuJsMode = 'webasm',
): Promise<Matrix> {
  const s = resolveSpec(spec);
  if (s.format === 'int') return fakeQuantIntGpuJs(x, s, mode);
  const layout = checkGpuJsInput(x, s);
  const n = x.rows * x.cols;
  const { gpu } = await getGpuJs(mode);
  if (!withRmf.has(gpu)) {
    gpu.addFunction(rmf);
    withRmf.add(gpu);
  }
  const fmt = s.format === 'fp8_e4m3' ? E4M3 : s.format === 'fp8_e5m2' ? E5M2 : E2M1;
  const kind = s.format === 'nvfp4' ? 1 : s.format === 'mxfp4' ? 2 : 0;
  let gamax = 0;
  if (kind === 1) gamax = (await runKernel(cachedKernel(gpu, 'fpAmax', amaxKernel, 1, n), x.data, n))[0]!;
  const channel = layout.span === 0 ? 1 : 0;
  const pk = cachedKernel(gpu, 'fpParams', fpParamsKernel, layout.units, Math.max(layout.span, x.rows));
  const scales = await runKernel(
    pk,
    x.data,
    layout.span,
    x.cols,
    x.rows,
    channel,
    kind,
    fmt.max,
    s.clipRatio,
    gamax,
  );
  const ak = cachedKernel(gpu, 'fpApply', fpApplyKernel, n, 1);
  const out = await runKernel(
    ak,
    x.data,
    scales,
    Math.max(1, layout.span),
    x.cols,
    channel,
    fmt.mbits,
    fmt.emin,
    fmt.max,
  );
  return { rows: x.rows, cols: x.cols, data: out.length === n ? out : out.slice(0, n) };
}
