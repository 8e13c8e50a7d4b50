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
  destroyGpuMatrix,
  emptyGpuMatrix,
  type GpuMatrix,
  getPipeline,
  getWebGPUDevice,
  readBuffer,
  uploadMatrix,
  workgroupGrid,
} from '@nq/core/webgpu';
import { type CompiledRotation, compileRotation, type RotationSpec } from '@nq/hadamard';
import { encodeRotation, prepareRotationWebGPU } from '@nq/hadamard/webgpu';
import { TARGET_BITS } from '../cpu/evaluator.js';
import type { QuantTarget } from '../types.js';
import { QUANT_ERROR_WGSL } from './quant-error.wgsl.js';

/**
 * Batched candidate evaluation on WebGPU for the activation targets (int8, int4): X is uploaded once;
 * for a batch of B candidates one command buffer holds B rotations (@nq/hadamard's FWHT kernels,
 * X → X·R_i) and B error reductions, and ONE read-back returns 2 floats per (candidate, token).
 * The CPU evaluator (CpuErrorEvaluator) is the reference; the conformance test states the tolerance.
 *
 * `w4a4`: X and W are uploaded once; each candidate is @nq/quant-int4's fused `gemmErrorGpu` with
 * this candidate's FWHT rotation plugged in (X·R, W·R, 4-bit per-token / per-row fake quant, the
 * GEMM error reduced on the GPU). That function submits and reads back per call, so a batch is B
 * submits all in flight together (not one command buffer).
 */
export class WebGPUErrorEvaluator {
  evaluations = 0;
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
    assertMatrix(x, 'x');
    assertNonEmpty(x, 'x');
    assertFinite(x, 'x');
    if (!(target in TARGET_BITS))
      throw new NqInputError('target', `is ${JSON.stringify(target)}`, "Use 'int8', 'int4' or 'w4a4'.");
    if (target === 'w4a4') {
      if (!w)
        throw new NqInputError('w', "is missing for target 'w4a4'", "Pass the layer's weight (out × in).");
      assertMatrix(w, 'w');
      assertNonEmpty(w, 'w');
      assertFinite(w, 'w');
      if (w.cols !== x.cols)
        throw new NqInputError(
          'w',
          `has ${w.cols} input channels but x has ${x.cols}`,
          'W is out × in and X is tokens × in.',
        );
    }
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

  /** w4a4: one fused GEMM error per candidate, all submitted before any read-back is awaited. */
  private async gemmErrors(compiled: CompiledRotation[]): Promise<Float64Array> {
    const { beginWork, gemmErrorGpu, toGpuQuantizer } = await import('@nq/quant-int4/webgpu');
    const device = this.device;
    const q4 = toGpuQuantizer({ format: 'int', bits: 4, granularity: 'token', symmetric: true }, 'quantizer');
    const prepared = await Promise.all(compiled.map((c) => prepareRotationWebGPU(c)));
    const owned: GPUBuffer[] = [];
    try {
      const reports = await Promise.all(
        prepared.map((p) => {
          const rotateFn = (work: { encoder: GPUCommandEncoder }, m: GpuMatrix): GpuMatrix => {
            const o = emptyGpuMatrix(device, m.rows, m.cols);
            encodeRotation(p, m, o, {}, work.encoder);
            return o;
          };
          return gemmErrorGpu(beginWork(device), this.gx, this.gw!, rotateFn, q4, q4, owned);
        }),
      );
      this.evaluations += compiled.length;
      return Float64Array.from(reports, (r) => (r.gemm.signal === 0 ? 0 : r.gemm.sse / r.gemm.signal));
    } finally {
      for (const b of owned) b.destroy();
      for (const p of prepared) p.destroy();
    }
  }

  /** Relative errors of a batch of rotations, in order: one submit, one read-back. */
  async errors(specs: readonly (RotationSpec | CompiledRotation)[]): Promise<Float64Array> {
    const B = specs.length;
    const out = new Float64Array(B);
    if (B === 0) return out;
    const compiled = specs.map((s, i) =>
      'spec' in s && (s as CompiledRotation).spec
        ? (s as CompiledRotation)
        : compileRotation(s as RotationSpec, `specs[${i}]`),
    );
    compiled.forEach((c, i) => {
      if (c.dim !== this.dim)
        throw new NqInputError(
          `specs[${i}].dim`,
          `is ${c.dim} but the data has ${this.dim} channels`,
          'Search rotations of the layer input size.',
        );
    });
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
