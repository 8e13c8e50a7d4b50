import { assertFinite, assertMatrix, assertNonEmpty, type Matrix, NqInputError } from '@nq/core';
import {
  createStorageBuffer,
  dispatch,
  downloadMatrix,
  type GpuMatrix,
  getPipeline,
  getWebGPUDevice,
  readBuffer,
  uploadMatrix,
  workgroupGrid,
} from '@nq/core/webgpu';
import type { GemmErrorReport } from '@nq/quant-int4';
import {
  clipSearchRatios,
  type QuantSpec,
  type ResolvedQuantSpec,
  resolveSpec,
  type ScaleLayout,
  scaleLayout,
} from '@nq/quant-int4';
import {
  applyGpu,
  beginWork,
  clipSearchShader,
  fakeQuantIntGpu,
  type GemmErrorGpuOptions,
  type GpuQuantizer,
  type GpuWork,
  gemmErrorWebGPU as gemmErrorInt,
  quantizeIntWebGPU,
  submitWork,
  tempF32,
  tempUniform,
  unitStatsGpu,
} from '@nq/quant-int4/webgpu';
import type { FpFormat, FpQuantized } from '../cpu/fp-quantize.js';
import type { Quantized } from '../dispatch.js';
import {
  E2M1,
  E4M3,
  E5M2,
  encodeE8M0,
  encodeMiniFloat,
  floorLog2,
  type MiniFloatFormat,
} from '../formats/minifloat.js';
import { fp8ParamsFnWgsl, fpElementWgsl, fpParamsShader } from './kernels.js';
import { roundFnWgsl } from './wgsl-snippets.js';

const elementFormat = (f: string): MiniFloatFormat =>
  f === 'fp8_e4m3' ? E4M3 : f === 'fp8_e5m2' ? E5M2 : E2M1;

/** Scales of every unit for an FP spec, on the GPU (temporaries of `work`). */
export function fpScalesGpu(
  work: GpuWork,
  x: GpuMatrix,
  layout: ScaleLayout,
  s: ResolvedQuantSpec,
): GPUBuffer {
  const { device } = work;
  const { lo, hi } = unitStatsGpu(work, x, layout);
  const scales = tempF32(work, layout.units);
  const fmt = elementFormat(s.format);
  if ((s.format === 'fp8_e4m3' || s.format === 'fp8_e5m2') && s.clipSearch) {
    const zeros = tempF32(work, layout.units);
    const cs = s.clipSearch;
    const code = clipSearchShader(
      fpElementWgsl(fmt),
      fp8ParamsFnWgsl(fmt),
      cs.grid,
      clipSearchRatios(cs).length,
      cs.norm,
    );
    const count = layout.span === 0 ? layout.rows : layout.span;
    dispatch(
      device,
      getPipeline(device, code),
      [x.buffer, lo, hi, scales, zeros, tempUniform(work, [layout.units, layout.span, layout.cols, count])],
      workgroupGrid(device, Math.ceil(layout.units / 64)),
      work.encoder,
    );
    return scales;
  }
  let glo = lo;
  let ghi = hi;
  if (s.format === 'nvfp4') {
    // the tensor's amax from the block stats: one more span reduction over the units
    const t = unitStatsGpu(
      work,
      { rows: 1, cols: layout.units, buffer: lo },
      { ...layout, granularity: 'tensor', units: 1, span: layout.units, scaleRows: 1, scaleCols: 1 },
    );
    const t2 = unitStatsGpu(
      work,
      { rows: 1, cols: layout.units, buffer: hi },
      { ...layout, granularity: 'tensor', units: 1, span: layout.units, scaleRows: 1, scaleCols: 1 },
    );
    glo = t.lo; // min of the block minima
    ghi = t2.hi; // max of the block maxima
  }
  const kind = s.format === 'nvfp4' ? 'nvfp4' : s.format === 'mxfp4' ? 'mxfp4' : 'fp8';
  const extra = kind === 'fp8' ? fp8ParamsFnWgsl(fmt) : kind === 'nvfp4' ? roundFnWgsl(E4M3) : '';
  const u = tempUniform(work, [layout.units, 0, 0, { f32: s.clipRatio }]);
  dispatch(
    device,
    getPipeline(device, fpParamsShader(kind, extra)),
    [lo, hi, glo, ghi, scales, u],
    workgroupGrid(device, Math.ceil(layout.units / 64)),
    work.encoder,
  );
  return scales;
}

/** Records a fake-quant of any format into `work`; returns a new GpuMatrix owned by the caller. */
export function fakeQuantGpu(
  work: GpuWork,
  x: GpuMatrix,
  spec: QuantSpec | ResolvedQuantSpec,
  out?: GpuMatrix,
): GpuMatrix {
  const s = resolveSpec(spec);
  if (s.format === 'int') return fakeQuantIntGpu(work, x, s, out);
  if (x.rows === 0 || x.cols === 0)
    throw new NqInputError('x', `is empty (${x.rows}×${x.cols})`, 'Pass at least one row and one column.');
  const layout = scaleLayout(x.rows, x.cols, s, 'x');
  const scales = fpScalesGpu(work, x, layout, s);
  return applyGpu(
    work,
    x,
    layout,
    scales,
    scales /* z unused */,
    fpElementWgsl(elementFormat(s.format)),
    false,
    out,
  );
}

/** Upload, fake-quant (any format) and read back. */
export async function fakeQuantWebGPU(x: Matrix, spec: QuantSpec | ResolvedQuantSpec): Promise<Matrix> {
  assertMatrix(x, 'x');
  assertNonEmpty(x, 'x');
  assertFinite(x, 'x');
  const s = resolveSpec(spec);
  scaleLayout(x.rows, x.cols, s, 'x');
  const { device } = await getWebGPUDevice();
  const gx = uploadMatrix(device, x);
  const work = beginWork(device);
  const out = fakeQuantGpu(work, gx, s);
  submitWork(work);
  const m = await downloadMatrix(device, out);
  gx.buffer.destroy();
  out.buffer.destroy();
  return m;
}

/** A GPU quantizer for any spec (for gemmErrorWebGPU and custom pipelines). */
export function gpuQuantizerFor(spec: QuantSpec | ResolvedQuantSpec): GpuQuantizer {
  const s = resolveSpec(spec);
  return (work, x) => fakeQuantGpu(work, x, s);
}

/** The fused rotate → quantize → GEMM-error path for specs of every format. */
export function gemmErrorWebGPU(
  x: Matrix,
  w: Matrix,
  options: GemmErrorGpuOptions = {},
): Promise<GemmErrorReport> {
  return gemmErrorInt(x, w, options, (s) => gpuQuantizerFor(s));
}

/**
 * Codes and scales of any format computed on the GPU, returned in the CPU's shapes (IntQuantized /
 * FpQuantized). Element codes and effective scales come from the GPU; for NVFP4 the E4M3 block-scale
 * codes and the global scale, and for MXFP4 the E8M0 codes, are derived on the host from the read-back
 * effective scales (exact: b = s/g to within 2^-24, far below E4M3's spacing; MXFP4 scales are powers of two).
 */
export async function quantizeWebGPU(x: Matrix, spec: QuantSpec | ResolvedQuantSpec): Promise<Quantized> {
  const s = resolveSpec(spec);
  if (s.format === 'int') return quantizeIntWebGPU(x, s);
  assertMatrix(x, 'x');
  assertNonEmpty(x, 'x');
  assertFinite(x, 'x');
  const layout = scaleLayout(x.rows, x.cols, s, 'x');
  const { device } = await getWebGPUDevice();
  const gx = uploadMatrix(device, x);
  const work = beginWork(device);
  const scales = fpScalesGpu(work, gx, layout, s);
  const codesF = applyGpu(work, gx, layout, scales, scales, fpElementWgsl(elementFormat(s.format)), true);
  const sc = createStorageBuffer(device, layout.units * 4);
  work.encoder.copyBufferToBuffer(scales, 0, sc, 0, layout.units * 4);
  submitWork(work);
  const codeVals = new Float32Array(await readBuffer(device, codesF.buffer, x.rows * x.cols * 4));
  const scaleVals = new Float32Array(await readBuffer(device, sc, layout.units * 4));
  for (const b of [gx.buffer, codesF.buffer, sc]) b.destroy();
  const mask = s.format === 'nvfp4' || s.format === 'mxfp4' ? 0xf : 0xff;
  const codes = Uint8Array.from(codeVals, (c) => c & mask);
  let blockScaleCodes: Uint8Array | null = null;
  let globalScale = 1;
  if (s.format === 'nvfp4') {
    let t = 0;
    for (const v of x.data) t = Math.max(t, Math.abs(v));
    globalScale = Math.fround(t / (6 * 448));
    blockScaleCodes = Uint8Array.from(scaleVals, (v) =>
      globalScale === 0 ? 0 : encodeMiniFloat(E4M3, v / globalScale),
    );
  } else if (s.format === 'mxfp4') {
    blockScaleCodes = Uint8Array.from(scaleVals, (v) => (v === 0 ? 0 : encodeE8M0(floorLog2(v))));
  }
  const q: FpQuantized = {
    format: s.format as FpFormat,
    spec: s,
    rows: x.rows,
    cols: x.cols,
    layout,
    codes,
    scales: scaleVals,
    blockScaleCodes,
    globalScale,
    clipRatios: new Float32Array(layout.units).fill(s.clipSearch ? Number.NaN : s.clipRatio),
  };
  return q;
}
