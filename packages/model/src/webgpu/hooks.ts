import type { GpuMatrix } from '@nq/core/webgpu';

/**
 * GPU counterparts of ForwardHooks (../hooks.ts). A CPU hook is a JS callback on host arrays; on the
 * GPU the data never leaves the device, so a GPU hook *records* work into the forward pass's command
 * encoder and hands back the buffer to use instead. Whatever it allocates goes into `work.temps`:
 * the forward pass destroys those after the pass has run (same shape as @nq/quant-int4/webgpu's
 * GpuWork, so its recording kernels — fakeQuantIntGpu — can be called with `work` directly).
 */
export interface GpuWork {
  device: GPUDevice;
  encoder: GPUCommandEncoder;
  temps: GPUBuffer[];
}

/**
 * The four distinct linear inputs of a block: q/k/v read 'attn' (the normed attention input),
 * o reads 'o' (the attention output), gate/up read 'ffn' (the normed MLP input), down reads 'down'
 * (the SwiGLU output, after the model's online rotation if it has one).
 */
export type LinearInputGroup = 'attn' | 'o' | 'ffn' | 'down';

export interface GpuForwardHooks {
  /**
   * Replaces what the linears of `group` in `layer` consume: record work reading `x` ([T, in]) and
   * return a [T, in] GpuMatrix (e.g. Q_a(x·R): an online rotation then activation fake-quant), or
   * undefined to leave the input unchanged. Do not write into `x`.
   */
  linearInput?: (
    layer: number,
    group: LinearInputGroup,
    x: GpuMatrix,
    work: GpuWork,
  ) => GpuMatrix | undefined;
  /**
   * KV-cache quantization: the new K (after RoPE) or V rows of `layer`, viewed as
   * [T·nKvHeads, headDim] (one row per token and KV head). Return the replacement rows (same shape;
   * they are copied over the originals before attention reads them and before they enter the
   * cache), or undefined. Do not write into `rows`.
   */
  kvRows?: (layer: number, kind: 'k' | 'v', rows: GpuMatrix, work: GpuWork) => GpuMatrix | undefined;
}
