import { NqBackendError } from '../errors.js';
import type { Matrix } from '../matrix.js';

/**
 * Small host-side helpers every WebGPU kernel in nq uses: a pipeline cache keyed by shader source,
 * matrices that live on the GPU, one-call dispatch, and read-back. Chained GPU ops pass GpuMatrix
 * values along and read back once at the end.
 *
 * Lifetime (see the futex hazard in packages/core/README.md):
 *  - the one rule that matters for stability: dawn-node's instance (and adapter) must stay reachable while
 *    its device is used. getWebGPUDevice holds them for the whole process; never call the `webgpu`
 *    package's create() yourself and drop the result;
 *  - buffers are destroyed explicitly (`destroyGpuMatrix`) to free memory at once — a buffer left to the GC
 *    is collected safely once the instance is held, just later;
 *  - `readBuffer` awaits `queue.onSubmittedWorkDone()` before mapping; exiting with work in flight is safe.
 */
export interface GpuMatrix {
  rows: number;
  cols: number;
  buffer: GPUBuffer;
}

const STORAGE = 0x80; // GPUBufferUsage.STORAGE
const COPY_SRC = 0x04;
const COPY_DST = 0x08;
const MAP_READ = 0x01;
const UNIFORM = 0x40;

const pipelineCaches = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

/** A compute pipeline for `code`, compiled once per device and shader text (the text is the key). */
export function getPipeline(device: GPUDevice, code: string, entryPoint = 'main'): GPUComputePipeline {
  let cache = pipelineCaches.get(device);
  if (!cache) {
    cache = new Map();
    pipelineCaches.set(device, cache);
  }
  const key = `${entryPoint}\u0000${code}`;
  let p = cache.get(key);
  if (!p) {
    const module = device.createShaderModule({ code });
    p = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint } });
    cache.set(key, p);
  }
  return p;
}

/** A storage buffer (copyable both ways), optionally initialised with `data`. Size is padded to 4 bytes. */
export function createStorageBuffer(
  device: GPUDevice,
  sizeOrData: number | ArrayBufferView,
  extraUsage = 0,
): GPUBuffer {
  const bytes = typeof sizeOrData === 'number' ? sizeOrData : sizeOrData.byteLength;
  const size = Math.max(4, Math.ceil(bytes / 4) * 4);
  if (size > device.limits.maxBufferSize) {
    throw new NqBackendError(
      'webgpu',
      `a ${size}-byte buffer exceeds this adapter's maxBufferSize ${device.limits.maxBufferSize}. Split the work into smaller batches.`,
    );
  }
  const buffer = device.createBuffer({ size, usage: STORAGE | COPY_SRC | COPY_DST | extraUsage });
  if (typeof sizeOrData !== 'number') {
    device.queue.writeBuffer(buffer, 0, sizeOrData.buffer, sizeOrData.byteOffset, sizeOrData.byteLength);
  }
  return buffer;
}

/** A uniform buffer holding `data` (u32/f32 words packed by the caller). */
export function createUniformBuffer(device: GPUDevice, data: ArrayBufferView): GPUBuffer {
  const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
  const buffer = device.createBuffer({ size, usage: UNIFORM | COPY_DST });
  device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  return buffer;
}

export function uploadMatrix(device: GPUDevice, m: Matrix): GpuMatrix {
  return { rows: m.rows, cols: m.cols, buffer: createStorageBuffer(device, m.data) };
}

export function emptyGpuMatrix(device: GPUDevice, rows: number, cols: number): GpuMatrix {
  return { rows, cols, buffer: createStorageBuffer(device, rows * cols * 4) };
}

/** Copies `byteLength` bytes of `buffer` back to the CPU. Waits for all submitted work first. */
export async function readBuffer(
  device: GPUDevice,
  buffer: GPUBuffer,
  byteLength = buffer.size,
  offset = 0,
): Promise<ArrayBuffer> {
  const size = Math.ceil(byteLength / 4) * 4;
  const staging = device.createBuffer({ size, usage: MAP_READ | COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buffer, offset, staging, 0, size);
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();
  await staging.mapAsync(MAP_READ);
  const out = staging.getMappedRange(0, size).slice(0, byteLength);
  staging.unmap();
  staging.destroy();
  return out;
}

export async function downloadMatrix(device: GPUDevice, g: GpuMatrix): Promise<Matrix> {
  const data = new Float32Array(await readBuffer(device, g.buffer, g.rows * g.cols * 4));
  return { rows: g.rows, cols: g.cols, data };
}

export function destroyGpuMatrix(g: GpuMatrix): void {
  g.buffer.destroy();
}

/**
 * Splits a 1-D workgroup count over x and y so that neither exceeds the adapter's per-dimension limit
 * (65535 on most). Kernels recover the linear index as wid.x + wid.y * nwg.x and must bounds-check.
 */
export function workgroupGrid(device: GPUDevice, count: number): [number, number, number] {
  const max = device.limits.maxComputeWorkgroupsPerDimension;
  if (count <= max) return [count, 1, 1];
  const y = Math.ceil(count / max);
  return [Math.ceil(count / y), y, 1];
}

/**
 * Encodes one compute pass: binds `buffers` to @group(0) @binding(0..n-1) in order and dispatches.
 * Pass an encoder to batch several dispatches into one submit; without one it submits immediately.
 */
export function dispatch(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  buffers: GPUBuffer[],
  workgroups: [number, number?, number?],
  encoder?: GPUCommandEncoder,
): void {
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const enc = encoder ?? device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(workgroups[0], workgroups[1] ?? 1, workgroups[2] ?? 1);
  pass.end();
  if (!encoder) device.queue.submit([enc.finish()]);
}
