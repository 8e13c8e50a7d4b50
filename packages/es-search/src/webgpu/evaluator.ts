import { type Matrix, NqUnsupportedError } from '@nq/core';
import {
  createStorageBuffer,
  createUniformBuffer,
  destroyGpuMatrix,
  emptyGpuMatrix,
  type GpuMatrix,
  getPipeline,
  getWebGPUDevice,
  readBuffer,
  uploadMatrix,
  workgroupGrid,
} from '@nq/core/webgpu';
import type { CompiledRotation, RotationSpec } from '@nq/hadamard';
import { encodeRotation, prepareRotationWebGPU } from '@nq/hadamard/webgpu';
import { TARGET_BITS } from '../cpu/evaluator.js';
import { checkEvaluatorOperands, compileCandidates } from '../evaluator-operands.js';
import type { QuantTarget } from '../types.js';
import { QUANT_ERROR_WGSL } from './quant-error.wgsl.js';

/** Default cap on the GPU temporaries of one w4a4 chunk (all its candidates until the submit; see gemmErrors). */
export const W4A4_CHUNK_BYTES = 256 * 1024 * 1024;

/**
 * Per w4a4 candidate: rotated X and W, their fake-quantized copies, the FWHT's scratch (at most one
 * operand-sized buffer per size) and the quantizer's per-row scale temporaries: about 3·(m+n)·k f32.
 */
export function w4a4CandidateBytes(tokens: number, out: number, dim: number): number {
  return 3 * (tokens + out) * dim * 4 + 64 * (tokens + out);
}

/**
 * Batched candidate evaluation on WebGPU for the activation targets (int8, int4): X is uploaded once;
 * for a batch of B candidates one command buffer holds B rotations (@nq/hadamard's FWHT kernels,
 * X → X·R_i) and B error reductions, and ONE read-back returns 2 floats per (candidate, token).
 * The CPU evaluator (CpuErrorEvaluator) is the reference; the conformance test states the tolerance.
 *
 * `w4a4`: X and W are uploaded once; every candidate of a batch is recorded into ONE command
 * encoder with @nq/quant-int4's `recordGemmError` (this candidate's FWHT rotation on X and W, 4-bit
 * per-token / per-row fake quant, the fused GEMM error reduced on the GPU) writing its partial sums
 * to its own slot of one results buffer, then one submit and ONE read-back. The same kernels in the
 * same order as `gemmErrorGpu`, so the numbers equal the per-candidate path exactly. Memory is
 * bounded: a batch whose temporaries would exceed `w4a4ChunkBytes` (256 MiB) is split into chunks (one submit each).
 */
export class WebGPUErrorEvaluator {
  evaluations = 0;
  /** w4a4: cap on the temporaries of one chunk of a batch (one submit per chunk); lower it to save GPU memory. */
  w4a4ChunkBytes = W4A4_CHUNK_BYTES;
  private slots: GpuMatrix[] = [];

  private constructor(
    readonly target: QuantTarget,
    readonly dim: number,
    readonly tokens: number,
    readonly device: GPUDevice,
    private readonly gx: GpuMatrix,
    private readonly gw: GpuMatrix | null = null,
  ) {}

  static async create(x: Matrix, target: QuantTarget, w?: Matrix | null): Promise<WebGPUErrorEvaluator> {
    checkEvaluatorOperands(x, target, w);
    if (x.cols % 4 !== 0)
      throw new NqUnsupportedError(
        `dim = ${x.cols} on the webgpu backend`,
        'Use a multiple of 4 channels, or the cpu backend.',
      );
    const { device } = await getWebGPUDevice();
    return new WebGPUErrorEvaluator(
      target,
      x.cols,
      x.rows,
      device,
      uploadMatrix(device, x),
      target === 'w4a4' ? uploadMatrix(device, w!) : null,
    );
  }

  /**
   * w4a4: every candidate of a chunk recorded into ONE command encoder (@nq/quant-int4's
   * `recordGemmError`: this candidate's FWHT on X and W, 4-bit fake quant, fused GEMM error) writing
   * to its own slot of one results buffer; one submit and one read-back per chunk. Chunks are cut so
   * the per-candidate temporaries stay under `w4a4ChunkBytes` (at least one candidate per chunk).
   */
  private async gemmErrors(compiled: CompiledRotation[]): Promise<Float64Array> {
    const {
      beginWork,
      gemmErrorFromPartials,
      gemmErrorPartialsLength,
      recordGemmError,
      submitWork,
      toGpuQuantizer,
    } = await import('@nq/quant-int4/webgpu');
    const device = this.device;
    const gw = this.gw!;
    const q4 = toGpuQuantizer({ format: 'int', bits: 4, granularity: 'token', symmetric: true }, 'quantizer');
    const words = gemmErrorPartialsLength(this.tokens, gw.rows, this.dim);
    const perCandidate = w4a4CandidateBytes(this.tokens, gw.rows, this.dim);
    const chunk = Math.max(1, Math.floor(this.w4a4ChunkBytes / perCandidate));
    const out = new Float64Array(compiled.length);
    for (let c0 = 0; c0 < compiled.length; c0 += chunk) {
      const part = compiled.slice(c0, c0 + chunk);
      const prepared = await Promise.all(part.map((c) => prepareRotationWebGPU(c)));
      const owned: GPUBuffer[] = [];
      const results = createStorageBuffer(device, part.length * words * 4);
      const work = beginWork(device);
      try {
        const recs = prepared.map((p, i) => {
          const rotateFn = (w: { encoder: GPUCommandEncoder }, m: GpuMatrix): GpuMatrix => {
            const o = emptyGpuMatrix(device, m.rows, m.cols);
            encodeRotation(p, m, o, {}, w.encoder);
            return o;
          };
          return recordGemmError(work, this.gx, gw, rotateFn, q4, q4, owned, {
            buffer: results,
            offset: i * words,
          });
        });
        submitWork(work);
        const all = new Float32Array(await readBuffer(device, results, part.length * words * 4));
        recs.forEach((rec, i) => {
          const r = gemmErrorFromPartials(all, rec).gemm;
          out[c0 + i] = r.signal === 0 ? 0 : r.sse / r.signal;
        });
      } finally {
        // If recording threw, the encoder was never submitted: drop its temporaries here.
        for (const b of work.temps) b.destroy();
        results.destroy();
        for (const b of owned) b.destroy();
        for (const p of prepared) p.destroy();
      }
    }
    this.evaluations += compiled.length;
    return out;
  }

  /** Relative errors of a batch of rotations, in order: one submit, one read-back. */
  async errors(specs: readonly (RotationSpec | CompiledRotation)[]): Promise<Float64Array> {
    const B = specs.length;
    const out = new Float64Array(B);
    if (B === 0) return out;
    const compiled = compileCandidates(specs, this.dim);
    if (this.target === 'w4a4') return this.gemmErrors(compiled);
    const { device, tokens: T, dim } = this;
    while (this.slots.length < B) this.slots.push(emptyGpuMatrix(device, T, dim));
    const prepared = await Promise.all(compiled.map((c) => prepareRotationWebGPU(c)));
    const sums = createStorageBuffer(device, B * T * 2 * 4);
    const pipeline = getPipeline(device, QUANT_ERROR_WGSL);
    const qmax = (1 << (TARGET_BITS[this.target] - 1)) - 1;
    const uniforms: GPUBuffer[] = [];
    try {
      const encoder = device.createCommandEncoder();
      for (let i = 0; i < B; i++) {
        const slot = this.slots[i]!;
        encodeRotation(prepared[i]!, this.gx, slot, {}, encoder);
        const u = new ArrayBuffer(16);
        new Uint32Array(u, 0, 2).set([T, dim]);
        new Float32Array(u, 8, 1)[0] = qmax;
        new Uint32Array(u, 12, 1)[0] = i * T * 2;
        const ub = createUniformBuffer(device, new Uint8Array(u));
        uniforms.push(ub);
        const bind = device.createBindGroup({
          layout: pipeline.getBindGroupLayout(0),
          entries: [
            { binding: 0, resource: { buffer: slot.buffer } },
            { binding: 1, resource: { buffer: sums } },
            { binding: 2, resource: { buffer: ub } },
          ],
        });
        const pass = encoder.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bind);
        pass.dispatchWorkgroups(...workgroupGrid(device, T));
        pass.end();
      }
      device.queue.submit([encoder.finish()]);
      const s = new Float32Array(await readBuffer(device, sums, B * T * 2 * 4));
      for (let i = 0; i < B; i++) {
        let sse = 0;
        let sig = 0;
        for (let t = 0; t < T; t++) {
          sse += s[(i * T + t) * 2]!;
          sig += s[(i * T + t) * 2 + 1]!;
        }
        out[i] = sig === 0 ? 0 : sse / sig;
      }
      this.evaluations += B;
      return out;
    } finally {
      sums.destroy();
      for (const u of uniforms) u.destroy();
      for (const p of prepared) p.destroy();
    }
  }

  destroy(): void {
    destroyGpuMatrix(this.gx);
    if (this.gw) destroyGpuMatrix(this.gw);
    for (const s of this.slots) destroyGpuMatrix(s);
    this.slots = [];
  }
}
