import { createStorageBuffer } from '@nq/core/webgpu';
import type { LoadedModel } from '@nq/model';
import { type GpuForwardHooks, type GpuModel, recordMatmul, uploadModel } from '@nq/model/webgpu';
import type { QuantSpec } from '@nq/quant-int4';
import { fakeQuantIntGpu } from '@nq/quant-int4/webgpu';
import { INPUT_GROUPS, type PreparedRecipe, prepareRecipe } from '../recipes/apply.js';
import type { ActQuant, RecipeSpec } from '../recipes/spec.js';

/**
 * A recipe on the GPU. The weights are prepared on the CPU exactly as for the CPU backend
 * (prepareRecipe: rotated W·R, fake-quantized once, QuaRot's fused transforms) and uploaded; the
 * run-time part of the recipe becomes GPU hooks recorded into the forward pass:
 *  - each linear input group (q/k/v, o, gate/up, down): x ↦ Q_a(x·R) — the online rotation as a GEMM
 *    with the same dense R the CPU hooks use, then @nq/quant-int4's WebGPU INT fake-quant (per token
 *    or per tensor, symmetric, clip ratio), rounding half to even (WGSL round());
 *  - '+kv<b>': every new K row (after RoPE) and V row, per KV head and token, b-bit symmetric.
 * QuaRot's R4 is the model's online rotation (model.online), which the GPU forward applies itself.
 */
export interface GpuRecipe {
  prepared: PreparedRecipe;
  gpuModel: GpuModel;
  hooks: GpuForwardHooks | undefined;
  /** Frees the uploaded model and rotation matrices. */
  destroy(): void;
}

/** The activation quantizer as a @nq/quant-int4 QuantSpec (the same formulas as recipes/quantize.ts). */
export function actQuantSpec(act: ActQuant): QuantSpec {
  return {
    format: 'int',
    bits: act.bits,
    granularity: act.granularity,
    symmetric: true,
    clipRatio: act.clipRatio ?? 1,
  };
}

/** GPU hooks for a prepared recipe whose model is uploaded as `gm`; `destroy` frees the rotations. */
export function gpuRecipeHooks(
  gm: GpuModel,
  prepared: PreparedRecipe,
): { hooks: GpuForwardHooks | undefined; destroy(): void } {
  const { spec, inputRotations } = prepared;
  const owned: GPUBuffer[] = [];
  // Rᵀ of every rotation on the GPU: x·R = GEMM(x, Rᵀ) with the forward pass's kernel.
  const rot = inputRotations.map((row) =>
    row.map((r) => {
      if (!r) return null;
      const b = createStorageBuffer(gm.device, r.rT);
      owned.push(b);
      return { buffer: b, n: r.n };
    }),
  );
  const destroy = () => {
    for (const b of owned) b.destroy();
    owned.length = 0;
  };
  const act = spec.activations ? actQuantSpec(spec.activations) : null;
  const anyRot = rot.some((row) => row.some((r) => r));
  if (!act && !anyRot && !spec.kv) return { hooks: undefined, destroy };
  const hooks: GpuForwardHooks = {};
  if (act || anyRot) {
    hooks.linearInput = (layer, group, x, work) => {
      const r = rot[layer]?.[INPUT_GROUPS.indexOf(group)] ?? null;
      if (!r && !act) return undefined;
      let y = x;
      if (r) y = recordMatmul(work, x, r.buffer, r.n);
      if (act) {
        const q = fakeQuantIntGpu(work, y, act);
        work.temps.push(q.buffer);
        y = q;
      }
      return y;
    };
  }
  if (spec.kv) {
    const kvSpec: QuantSpec = { format: 'int', bits: spec.kv.bits, granularity: 'token', symmetric: true };
    hooks.kvRows = (_layer, _kind, rows, work) => {
      const q = fakeQuantIntGpu(work, rows, kvSpec);
      work.temps.push(q.buffer);
      return q;
    };
  }
  return { hooks, destroy };
}

/** prepareRecipe on the CPU, then the model uploaded and the run-time part turned into GPU hooks. */
export async function prepareRecipeWebGPU(base: LoadedModel, spec: RecipeSpec): Promise<GpuRecipe> {
  const prepared = prepareRecipe(base, spec);
  const gpuModel = await uploadModel(prepared.model);
  const h = gpuRecipeHooks(gpuModel, prepared);
  return {
    prepared,
    gpuModel,
    hooks: h.hooks,
    destroy() {
      h.destroy();
      gpuModel.destroy();
    },
  };
}
