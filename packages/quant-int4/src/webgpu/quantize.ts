import {
  assertFinite,
  assertMatrix,
  assertNonEmpty,
  type Matrix,
  NqInputError,
  NqUnsupportedError,
} from '@nq/core';
import {
  createStorageBuffer,
  createUniformBuffer,
  dispatch,
  downloadMatrix,
  type GpuMatrix,
  getPipeline,
  getWebGPUDevice,
  readBuffer,
  uploadMatrix,
  workgroupGrid,
} from '@nq/core/webgpu';
import type { IntQuantized } from '../cpu/int-quantize.js';
import { type ScaleLayout, scaleLayout } from '../layout.js';
import { clipSearchRatios, type QuantSpec, type ResolvedQuantSpec, resolveSpec } from '../spec.js';
import {
  applyShader,
  channelStatsShader,
  clipSearchShader,
  intElementWgsl,
  intParamsFnWgsl,
  intParamsShader,
  spanStatsShader,
} from './kernels.js';

/**
 * Host side of the WebGPU quantizers. Every step records into one command encoder; temporaries go
 * into `GpuWork.temps` and are destroyed only after the caller has submitted (destroying a buffer
 * that an unsubmitted encoder uses is a validation error, and leaving them to GC is the futex hazard
 * noted in shared/gpu/README.md). Data stays on the GPU between steps; read back once at the end.
 */
export interface GpuWork {
  device: GPUDevice;
  encoder: GPUCommandEncoder;
  temps: GPUBuffer[];
}

export function beginWork(device: GPUDevice): GpuWork {
  return { device, encoder: device.createCommandEncoder(), temps: [] };
}

/** Submits the recorded work and destroys the temporaries (after submit: the GPU keeps what it needs). */
export function submitWork(work: GpuWork): void {
  work.device.queue.submit([work.encoder.finish()]);
  for (const b of work.temps) b.destroy();
  work.temps.length = 0;
}

/** A scratch storage buffer of `n` f32 that lives until submitWork. */
export function tempF32(work: GpuWork, n: number): GPUBuffer {
  const b = createStorageBuffer(work.device, Math.max(1, n) * 4);
  work.temps.push(b);
  return b;
}

export function tempUniform(work: GpuWork, words: (number | { f32: number })[]): GPUBuffer {
  const buf = new ArrayBuffer(Math.max(16, Math.ceil((words.length * 4) / 16) * 16));
  const u = new Uint32Array(buf);
  const f = new Float32Array(buf);
  words.forEach((w, i) => {
    if (typeof w === 'number') u[i] = w >>> 0;
    else f[i] = w.f32;
  });
  const b = createUniformBuffer(work.device, new Uint8Array(buf));
  work.temps.push(b);
  return b;
}

function wgSizeFor(span: number): number {
  let wg = 1;
  while (wg * 2 <= Math.min(span, 256)) wg *= 2;
  return Math.max(wg, 16);
}

/** Per-unit min/max on the GPU: two f32 buffers of layout.units entries (temporaries of `work`). */
export function unitStatsGpu(
  work: GpuWork,
  x: GpuMatrix,
  layout: ScaleLayout,
): { lo: GPUBuffer; hi: GPUBuffer } {
  const { device } = work;
  const n = x.rows * x.cols;
  if (layout.span === 0) {
    const lo = tempF32(work, layout.units);
    const hi = tempF32(work, layout.units);
    const u = tempUniform(work, [x.rows, x.cols, 0, 0]);
    dispatch(
      device,
      getPipeline(device, channelStatsShader),
      [x.buffer, lo, hi, u],
      workgroupGrid(device, Math.ceil(x.cols / 64)),
      work.encoder,
    );
    return { lo, hi };
  }
  // One unit over a long range (tensor granularity, or a single row): reduce in stages so no single
  // workgroup walks the whole tensor — chunk stats first, then stats of the chunk stats, until one.
  // Several units: one workgroup per unit (a long row is walked by 256 threads).
  const CHUNK = 8192;
  let loIn = x.buffer;
  let hiIn = x.buffer;
  let len = n;
  for (;;) {
    const stage = layout.units === 1 && len > CHUNK ? CHUNK : layout.units === 1 ? len : layout.span;
    const units = Math.ceil(len / stage);
    const lo = tempF32(work, units);
    const hi = tempF32(work, units);
    const u = tempUniform(work, [len, stage, units, 0]);
    dispatch(
      device,
      getPipeline(device, spanStatsShader(wgSizeFor(stage))),
      [loIn, hiIn, lo, hi, u],
      workgroupGrid(device, units),
      work.encoder,
    );
    if (units === layout.units) return { lo, hi };
    loIn = lo;
    hiIn = hi;
    len = units;
  }
}

/** INT scales/zeros on the GPU (clip ratio or clip search). */
export function intParamsGpu(
  work: GpuWork,
  x: GpuMatrix,
  layout: ScaleLayout,
  spec: ResolvedQuantSpec,
): { scales: GPUBuffer; zeros: GPUBuffer } {
  const { device } = work;
  const { lo, hi } = unitStatsGpu(work, x, layout);
  const scales = tempF32(work, layout.units);
  const zeros = tempF32(work, layout.units);
  if (!spec.clipSearch) {
    const u = tempUniform(work, [layout.units, 0, 0, { f32: spec.clipRatio }]);
    dispatch(
      device,
      getPipeline(device, intParamsShader(spec.bits, spec.symmetric)),
      [lo, hi, scales, zeros, u],
      workgroupGrid(device, Math.ceil(layout.units / 64)),
      work.encoder,
    );
    return { scales, zeros };
  }
  const cs = spec.clipSearch;
  const steps = clipSearchRatios(cs).length;
  const count = layout.span === 0 ? layout.rows : layout.span;
  const code = clipSearchShader(
    intElementWgsl(spec.bits, spec.symmetric),
    intParamsFnWgsl(spec.bits, spec.symmetric),
    cs.grid,
    steps,
    cs.norm,
  );
  const u = tempUniform(work, [layout.units, layout.span, layout.cols, count]);
  dispatch(
    device,
    getPipeline(device, code),
    [x.buffer, lo, hi, scales, zeros, u],
    workgroupGrid(device, Math.ceil(layout.units / 64)),
    work.encoder,
  );
  return { scales, zeros };
}

/** Elementwise pass writing a new GpuMatrix (fake-quant values, or codes as f32 when `codes`). */
export function applyGpu(
  work: GpuWork,
  x: GpuMatrix,
  layout: ScaleLayout,
  scales: GPUBuffer,
  zeros: GPUBuffer,
  elementWgsl: string,
  codes = false,
  out?: GpuMatrix,
): GpuMatrix {
  const { device } = work;
  const n = x.rows * x.cols;
  const o = out ?? { rows: x.rows, cols: x.cols, buffer: createStorageBuffer(device, n * 4) };
  const u = tempUniform(work, [n, layout.span, layout.cols, 0]);
  dispatch(
    device,
    getPipeline(device, applyShader(elementWgsl, codes)),
    [x.buffer, scales, zeros, o.buffer, u],
    workgroupGrid(device, Math.ceil(n / 256)),
    work.encoder,
  );
  return o;
}

function checkSpec(spec: QuantSpec | ResolvedQuantSpec): ResolvedQuantSpec {
  const s = resolveSpec(spec);
  if (s.format !== 'int')
    throw new NqUnsupportedError(
      `format "${s.format}" in @nq/quant-int4/webgpu`,
      'Use @nq/quant-fp/webgpu for floating-point formats.',
    );
  return s;
}

/**
 * Records an INT fake-quant of a GPU matrix into `work` and returns the output GpuMatrix (owned by
 * the caller: destroy it with destroyGpuMatrix). No read-back; no finiteness check (data is on the GPU).
 */
export function fakeQuantIntGpu(
  work: GpuWork,
  x: GpuMatrix,
  spec: QuantSpec | ResolvedQuantSpec,
  out?: GpuMatrix,
): GpuMatrix {
  const s = checkSpec(spec);
  if (x.rows === 0 || x.cols === 0)
    throw new NqInputError('x', `is empty (${x.rows}×${x.cols})`, 'Pass at least one row and one column.');
  const layout = scaleLayout(x.rows, x.cols, s, 'x');
  const { scales, zeros } = intParamsGpu(work, x, layout, s);
  return applyGpu(work, x, layout, scales, zeros, intElementWgsl(s.bits, s.symmetric), false, out);
}

function checkHostInput(x: Matrix, name: string): void {
  assertMatrix(x, name);
  assertNonEmpty(x, name);
  assertFinite(x, name);
}

/** Upload, fake-quant and read back (convenience for tests and one-off calls). */
export async function fakeQuantIntWebGPU(x: Matrix, spec: QuantSpec | ResolvedQuantSpec): Promise<Matrix> {
  checkHostInput(x, 'x');
  const s = checkSpec(spec);
  scaleLayout(x.rows, x.cols, s, 'x'); // typed error before touching the GPU
  const { device } = await getWebGPUDevice();
  const gx = uploadMatrix(device, x);
  const work = beginWork(device);
  const out = fakeQuantIntGpu(work, gx, s);
  submitWork(work);
  const m = await downloadMatrix(device, out);
  gx.buffer.destroy();
  out.buffer.destroy();
  return m;
}

/** Codes, scales and zero points computed on the GPU, returned in the CPU's IntQuantized shape. */
export async function quantizeIntWebGPU(
  x: Matrix,
  spec: QuantSpec | ResolvedQuantSpec,
): Promise<IntQuantized> {
  checkHostInput(x, 'x');
  const s = checkSpec(spec);
  const layout = scaleLayout(x.rows, x.cols, s, 'x');
  const { device } = await getWebGPUDevice();
  const gx = uploadMatrix(device, x);
  const work = beginWork(device);
  const { scales, zeros } = intParamsGpu(work, gx, layout, s);
  const codesF = applyGpu(work, gx, layout, scales, zeros, intElementWgsl(s.bits, s.symmetric), true);
  // keep the params alive past submit: copy them into buffers we read back
  const sc = createStorageBuffer(device, layout.units * 4);
  const zc = createStorageBuffer(device, layout.units * 4);
  work.encoder.copyBufferToBuffer(scales, 0, sc, 0, layout.units * 4);
  work.encoder.copyBufferToBuffer(zeros, 0, zc, 0, layout.units * 4);
  submitWork(work);
  const codeVals = new Float32Array(await readBuffer(device, codesF.buffer, x.rows * x.cols * 4));
  const scaleVals = new Float32Array(await readBuffer(device, sc, layout.units * 4));
  const zeroVals = new Float32Array(await readBuffer(device, zc, layout.units * 4));
  for (const b of [gx.buffer, codesF.buffer, sc, zc]) b.destroy();
  const codes = s.symmetric ? Int8Array.from(codeVals) : Uint8Array.from(codeVals);
  const clipRatios = new Float32Array(layout.units).fill(s.clipSearch ? Number.NaN : s.clipRatio);
  return {
    format: 'int',
    spec: s,
    rows: x.rows,
    cols: x.cols,
    layout,
    codes,
    scales: scaleVals,
    zeros: s.symmetric ? null : zeroVals,
    clipRatios,
  };
}
