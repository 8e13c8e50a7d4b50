import { assertMatrix, type Matrix, NqInputError, NqUnsupportedError } from '@nq/core';
import {
  createStorageBuffer,
  dispatch,
  type GpuMatrix,
  getPipeline,
  getWebGPUDevice,
  readBuffer,
  uploadMatrix,
  workgroupGrid,
} from '@nq/core/webgpu';
import type { GemmErrorReport } from '../gemm-error.js';
import { checkGemmOperands } from '../gemm-operands.js';
import { statsFromSums } from '../metrics.js';
import { type QuantSpec, type ResolvedQuantSpec, resolveSpec } from '../spec.js';
import { dualGemmErrorShader, matmulShader, pairErrorShader, TILE } from './gemm-kernels.js';
import { beginWork, fakeQuantIntGpu, type GpuWork, submitWork, tempUniform } from './quantize.js';

/** A GPU fake-quantizer: records work and returns a new GpuMatrix owned by the caller. */
export type GpuQuantizer = (work: GpuWork, x: GpuMatrix) => GpuMatrix;
/** A GPU rotation x ↦ x·R: records work and returns a new GpuMatrix owned by the caller. */
export type GpuRotation = (work: GpuWork, x: GpuMatrix) => GpuMatrix;

export interface GemmErrorGpuOptions {
  /** A dense k×k R (applied as a GEMM on the GPU), a GPU rotation function (e.g. @nq/hadamard's), or none. */
  rotate?: Matrix | GpuRotation | null;
  activation?: QuantSpec | ResolvedQuantSpec | GpuQuantizer | null;
  weight?: QuantSpec | ResolvedQuantSpec | GpuQuantizer | null;
}

/** Records C = A·B (B k×n row-major) or A·Bᵀ into `work`; returns C (owned by the caller). */
export function matmulGpu(work: GpuWork, a: GpuMatrix, b: GpuMatrix, transB: boolean): GpuMatrix {
  const m = a.rows;
  const k = a.cols;
  const n = transB ? b.rows : b.cols;
  if ((transB ? b.cols : b.rows) !== k)
    throw new NqInputError(
      'b',
      `inner dimension ${transB ? b.cols : b.rows} does not match ${k}`,
      'Pass operands with equal inner dimensions.',
    );
  const c: GpuMatrix = { rows: m, cols: n, buffer: createStorageBuffer(work.device, m * n * 4) };
  const u = tempUniform(work, [m, n, k, 0]);
  dispatch(
    work.device,
    getPipeline(work.device, matmulShader(transB)),
    [a.buffer, b.buffer, c.buffer, u],
    [Math.ceil(n / TILE), Math.ceil(m / TILE)],
    work.encoder,
  );
  return c;
}

/** Turns a spec into a GPU quantizer; non-int formats need a resolver (@nq/quant-fp/webgpu passes one). */
export function toGpuQuantizer(
  q: GemmErrorGpuOptions['activation'],
  name: string,
  resolveFormat?: (s: ResolvedQuantSpec) => GpuQuantizer,
): GpuQuantizer | null {
  if (q === null || q === undefined) return null;
  if (typeof q === 'function') return q;
  const s = resolveSpec(q, name);
  if (resolveFormat) return resolveFormat(s);
  if (s.format !== 'int')
    throw new NqUnsupportedError(
      `${name}.format "${s.format}" in @nq/quant-int4/webgpu`,
      'Use gemmErrorWebGPU from @nq/quant-fp/webgpu for every format.',
    );
  return (work, x) => fakeQuantIntGpu(work, x, s);
}

/**
 * The W4A4 GEMM error of a layer on the GPU (definitions as the CPU `gemmError`): uploads X and W,
 * rotates both (dense GEMM or the given GPU rotation), fake-quantizes both, and in one fused kernel
 * computes Y = X·Wᵀ and Ŷ = dq(Q_a(X·R))·dq(Q_w(W·R))ᵀ tile by tile, reducing the error without
 * writing Y or Ŷ. Component errors are reduced on the GPU too. One submit, one read-back of the
 * per-workgroup partial sums (summed in float64 on the host).
 */
export async function gemmErrorWebGPU(
  x: Matrix,
  w: Matrix,
  options: GemmErrorGpuOptions = {},
  resolveFormat?: (s: ResolvedQuantSpec) => GpuQuantizer,
): Promise<GemmErrorReport> {
  checkGemmOperands(x, w);
  const rot = options.rotate;
  if (rot && typeof rot !== 'function') {
    assertMatrix(rot, 'rotate');
    if (rot.rows !== x.cols || rot.cols !== x.cols)
      throw new NqInputError(
        'rotate',
        `is ${rot.rows}×${rot.cols}, expected ${x.cols}×${x.cols}`,
        'Pass a square R of size in-features.',
      );
  }
  const qa = toGpuQuantizer(options.activation, 'activation', resolveFormat);
  const qw = toGpuQuantizer(options.weight, 'weight', resolveFormat);
  const { device } = await getWebGPUDevice();
  const gx = uploadMatrix(device, x);
  const gw = uploadMatrix(device, w);
  const owned: GPUBuffer[] = [gx.buffer, gw.buffer];
  try {
    const work = beginWork(device);
    const report = await gemmErrorGpu(work, gx, gw, rot ?? null, qa, qw, owned);
    return report;
  } finally {
    for (const b of owned) b.destroy();
  }
}

/**
 * The same on matrices already on the GPU (benchmarks keep them resident). Buffers it creates are
 * pushed to `owned` for the caller to destroy after the returned promise resolves. Records with
 * `recordGemmError`, submits, reads the partial sums back and reduces them (`gemmErrorFromPartials`).
 */
export async function gemmErrorGpu(
  work: GpuWork,
  gx: GpuMatrix,
  gw: GpuMatrix,
  rotate: Matrix | GpuMatrix | GpuRotation | null,
  qa: GpuQuantizer | null,
  qw: GpuQuantizer | null,
  owned: GPUBuffer[],
): Promise<GemmErrorReport> {
  const rec = recordGemmError(work, gx, gw, rotate, qa, qw, owned);
  submitWork(work);
  const p = new Float32Array(await readBuffer(work.device, rec.buffer, rec.length * 4));
  return gemmErrorFromPartials(p, rec, 0);
}

/** Where `recordGemmError` writes its partial sums: (Σ(ŷ−y)², Σy², max|ŷ−y|) triples, in f32 words. */
export interface GemmErrorPartials {
  buffer: GPUBuffer;
  /** First word of this record in `buffer`. */
  offset: number;
  /** Words written: 3·(gemmParts + activationParts + weightParts); see `gemmErrorPartialsLength`. */
  length: number;
  gemmParts: number;
  activationParts: number;
  weightParts: number;
  shape: { tokens: number; k: number; out: number };
}

/** f32 words one `recordGemmError` writes for X (m×k) and W (n×k): size a shared results buffer with it. */
export function gemmErrorPartialsLength(m: number, n: number, k: number): number {
  return (
    3 * (Math.ceil(n / TILE) * Math.ceil(m / TILE) + Math.ceil((m * k) / 4096) + Math.ceil((n * k) / 4096))
  );
}

/**
 * Records the whole fused GEMM-error computation of `gemmErrorGpu` into `work.encoder` and submits
 * nothing: rotate X and W, fake-quantize both, the dual-GEMM error kernel and the two component
 * error reductions. The partial sums go to `out.buffer` from word `out.offset` on (room for
 * `gemmErrorPartialsLength(m, n, k)` words), so many calls can share one results buffer and one
 * submit/read-back; without `out` a fresh buffer is created (pushed to `owned`). Intermediate
 * buffers are pushed to `owned` and must outlive the submit of `work`.
 */
export function recordGemmError(
  work: GpuWork,
  gx: GpuMatrix,
  gw: GpuMatrix,
  rotate: Matrix | GpuMatrix | GpuRotation | null,
  qa: GpuQuantizer | null,
  qw: GpuQuantizer | null,
  owned: GPUBuffer[],
  out?: { buffer: GPUBuffer; offset: number },
): GemmErrorPartials {
  const { device } = work;
  const m = gx.rows;
  const n = gw.rows;
  const k = gx.cols;
  const total = gemmErrorPartialsLength(m, n, k);
  if (out && (!Number.isInteger(out.offset) || out.offset < 0 || (out.offset + total) * 4 > out.buffer.size))
    throw new NqInputError(
      'out',
      `has ${out.buffer.size} bytes; offset ${out.offset} + ${total} words does not fit`,
      'Size the results buffer with gemmErrorPartialsLength(m, n, k) words per record.',
    );
  let xr = gx;
  let wr = gw;
  if (rotate) {
    if (typeof rotate === 'function') {
      xr = rotate(work, gx);
      wr = rotate(work, gw);
    } else {
      const gr = 'buffer' in rotate ? rotate : uploadMatrix(device, rotate);
      if (!('buffer' in rotate)) owned.push(gr.buffer);
      xr = matmulGpu(work, gx, gr, false);
      wr = matmulGpu(work, gw, gr, false);
    }
    owned.push(xr.buffer, wr.buffer);
  }
  const xq = qa ? qa(work, xr) : xr;
  const wq = qw ? qw(work, wr) : wr;
  if (qa) owned.push(xq.buffer);
  if (qw) owned.push(wq.buffer);

  const tilesX = Math.ceil(n / TILE);
  const tilesY = Math.ceil(m / TILE);
  const gemmParts = tilesX * tilesY;
  const aParts = Math.ceil((m * k) / 4096);
  const wParts = Math.ceil((n * k) / 4096);
  const base = out ? out.offset : 0;
  const partials = out ? out.buffer : createStorageBuffer(device, total * 4);
  if (!out) owned.push(partials);
  dispatch(
    device,
    getPipeline(device, dualGemmErrorShader),
    [gx.buffer, gw.buffer, xq.buffer, wq.buffer, partials, tempUniform(work, [m, n, k, base])],
    [tilesX, tilesY],
    work.encoder,
  );
  const aOff = base + 3 * gemmParts;
  const wOff = aOff + 3 * aParts;
  dispatch(
    device,
    getPipeline(device, pairErrorShader),
    [xr.buffer, xq.buffer, partials, tempUniform(work, [m * k, aOff, 0, 0])],
    workgroupGrid(device, aParts),
    work.encoder,
  );
  dispatch(
    device,
    getPipeline(device, pairErrorShader),
    [wr.buffer, wq.buffer, partials, tempUniform(work, [n * k, wOff, 0, 0])],
    workgroupGrid(device, wParts),
    work.encoder,
  );
  return {
    buffer: partials,
    offset: base,
    length: total,
    gemmParts,
    activationParts: aParts,
    weightParts: wParts,
    shape: { tokens: m, k, out: n },
  };
}

/**
 * The report from read-back partial sums: `p[at ..]` holds the record's words (`at` = rec.offset
 * when `p` is the whole results buffer, 0 when only this record was read). Sums in float64.
 */
export function gemmErrorFromPartials(
  p: Float32Array,
  rec: GemmErrorPartials,
  at = rec.offset,
): GemmErrorReport {
  const { tokens: m, k, out: n } = rec.shape;
  if (at < 0 || at + rec.length > p.length)
    throw new NqInputError(
      'p',
      `has ${p.length} words; the record needs ${rec.length} from ${at}`,
      'Pass the read-back results buffer and the offset of this record.',
    );
  const sum = (off: number, count: number, c: number) => {
    const sse = sumTriples(p, off, count, 0);
    const sig = sumTriples(p, off, count, 1);
    let mx = 0;
    for (let i = 0; i < count; i++) mx = Math.max(mx, p[off + 3 * i + 2]!);
    return statsFromSums(sse, sig, mx, c);
  };
  const aOff = at + 3 * rec.gemmParts;
  const wOff = aOff + 3 * rec.activationParts;
  return {
    gemm: sum(at, rec.gemmParts, m * n),
    activation: sum(aOff, rec.activationParts, m * k),
    weight: sum(wOff, rec.weightParts, n * k),
    shape: { tokens: m, k, out: n },
  };
}

function sumTriples(p: Float32Array, off: number, count: number, which: number): number {
  let s = 0;
  for (let i = 0; i < count; i++) s += p[off + 3 * i + which]!;
  return s;
}
