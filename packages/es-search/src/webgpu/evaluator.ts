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
 * `w4a4` is not implemented on the GPU (typed error).
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
  ) {}

  static async create(x: Matrix, target: QuantTarget): Promise<WebGPUErrorEvaluator> {
    assertMatrix(x, 'x');
    assertNonEmpty(x, 'x');
    assertFinite(x, 'x');
    if (target === 'w4a4')
      throw new NqUnsupportedError(
        "target 'w4a4' on the webgpu backend",
        "Use the cpu backend for 'w4a4'; webgpu evaluates 'int8' and 'int4'.",
      );
    if (!(target in TARGET_BITS))
      throw new NqInputError('target', `is ${JSON.stringify(target)}`, "Use 'int8' or 'int4' on webgpu.");
    const { device } = await getWebGPUDevice();
    return new WebGPUErrorEvaluator(target, x.cols, x.rows, device, uploadMatrix(device, x));
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
    for (const s of this.slots) destroyGpuMatrix(s);
    this.slots = [];
  }
}
