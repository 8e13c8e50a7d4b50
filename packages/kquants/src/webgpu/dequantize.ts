import { NqInputError, NqUnsupportedError } from '@nq/core';
import {
  createStorageBuffer,
  createUniformBuffer,
  dispatch,
  getPipeline,
  getWebGPUDevice,
  readBuffer,
  workgroupGrid,
} from '@nq/core/webgpu';
import { byteSize, type KnownFormat, supportedFormatOf } from '../formats.js';
import { dequantShader, WEBGPU_DEQUANT_FORMATS, WORKGROUP } from './wgsl.js';

/**
 * Records the dequantization of n weights of `type` held in `src` (the block bytes, padded to a
 * multiple of 4) into `dst` (n float32). Pass an encoder to chain it with other GPU work; the
 * returned uniform buffer may be destroyed once the work has completed.
 */
export function dequantizeGpu(
  device: GPUDevice,
  type: KnownFormat,
  src: GPUBuffer,
  n: number,
  dst: GPUBuffer,
  encoder?: GPUCommandEncoder,
): GPUBuffer {
  const f = supportedFormatOf(type);
  const code = dequantShader(f.name as KnownFormat);
  if (!code)
    throw new NqUnsupportedError(
      `WebGPU dequantization of ${f.name}`,
      `Supported: ${WEBGPU_DEQUANT_FORMATS.join(', ')}`,
    );
  const bytes = byteSize(f.name, n);
  if (src.size < bytes)
    throw new NqInputError(
      'src',
      `holds ${src.size} bytes, ${n} ${f.name} weights need ${bytes}`,
      'Upload the whole tensor',
    );
  if (dst.size < 4 * n)
    throw new NqInputError('dst', `holds ${dst.size} bytes, needs ${4 * n}`, 'Allocate 4·n bytes');
  const grid = workgroupGrid(device, Math.ceil(n / WORKGROUP));
  const uniform = createUniformBuffer(device, new Uint32Array([n, grid[0], 0, 0]));
  if (n > 0) dispatch(device, getPipeline(device, code), [src, dst, uniform], grid, encoder);
  return uniform;
}

/** Uploads block bytes, dequantizes on the GPU and reads back n float32 values. */
export async function dequantizeWebGPU(
  type: KnownFormat,
  bytes: Uint8Array,
  n: number,
): Promise<Float32Array> {
  const f = supportedFormatOf(type);
  const need = byteSize(f.name, n);
  if (bytes.length < need)
    throw new NqInputError(
      'bytes',
      `holds ${bytes.length} bytes, ${n} ${f.name} weights need ${need}`,
      'Pass the whole tensor',
    );
  const { device } = await getWebGPUDevice();
  // Pad to whole words so the kernel's u32 reads stay inside the buffer.
  const padded = new Uint8Array(Math.ceil(need / 4) * 4);
  padded.set(bytes.subarray(0, need));
  const src = createStorageBuffer(device, padded);
  const dst = createStorageBuffer(device, 4 * Math.max(n, 1));
  const uniform = dequantizeGpu(device, f.name as KnownFormat, src, n, dst);
  const out = new Float32Array(await readBuffer(device, dst, 4 * n));
  src.destroy();
  dst.destroy();
  uniform.destroy();
  return out;
}
