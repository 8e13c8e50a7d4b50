import { assertFinite, assertMatrix, assertNonEmpty, type Matrix, NqUnsupportedError } from '@nq/core';
import {
  createUniformBuffer,
  dispatch,
  getPipeline,
  getWebGPUDevice,
  readBuffer,
  workgroupGrid,
} from '@nq/core/webgpu';
import { sphereCoordinateCodebook } from '../codebook.js';
import { groupSigns } from '../cpu/transform.js';
import { checkGroupDivides, resolveTurboQuantSpec, type TurboQuantSpec } from '../spec.js';
import { turboquantWgsl } from './fakequant.wgsl.js';

/** Largest group the WebGPU kernel takes (workgroup memory: 4·G bytes of the 32 KiB limit). */
export const WEBGPU_MAX_GROUP = 4096;

const CORRECTION_CODE = { norm: 0, mse: 1, none: 2 } as const;

export interface TurboQuantWebGPUResult {
  /** Ŵ (rows × cols). */
  weight: Matrix;
  /** Centroid index per weight (rows × cols). */
  codes: Uint32Array;
  /** One float per (row, group). */
  scales: Float32Array;
}

function storage(device: GPUDevice, data: ArrayBufferView, size = data.byteLength): GPUBuffer {
  const b = device.createBuffer({
    size: Math.max(16, Math.ceil(size / 4) * 4),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  if (data.byteLength > 0) device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
  return b;
}

/**
 * TurboQuant fake-quant on WebGPU (codebook 'sphere' only): the same algorithm and the same sign
 * vector (Rng(seed).fork(label)) as the CPU; codes agree except where a rotated coordinate lies
 * within float32 rounding of a centroid boundary (the FWHT sums in another order).
 */
export async function turboquantFakeQuantWebGPU(
  w: Matrix,
  spec: TurboQuantSpec = {},
  label = 'w',
): Promise<TurboQuantWebGPUResult> {
  assertMatrix(w, 'w');
  assertNonEmpty(w, 'w');
  assertFinite(w, 'w');
  const s = resolveTurboQuantSpec(spec);
  if (s.codebook !== 'sphere')
    throw new NqUnsupportedError(
      `codebook '${s.codebook}' on WebGPU`,
      "Supported: 'sphere' (use the CPU turboquantFakeQuant for 'fitted').",
    );
  const G = s.groupSize;
  checkGroupDivides(w.cols, G, 'w');
  const { rows, cols } = w;
  const groups = cols / G;
  const book = sphereCoordinateCodebook(G, s.bits);
  const signs = groupSigns(s.seed, label, G);
  const { device } = await getWebGPUDevice();
  const n = rows * cols;
  const bw = storage(device, w.data);
  const bs = storage(device, signs);
  const bb = storage(device, book);
  const bo = storage(device, new Float32Array(0), 4 * n);
  const bc = storage(device, new Uint32Array(0), 4 * n);
  const bsc = storage(device, new Float32Array(0), 4 * rows * groups);
  const params = new ArrayBuffer(32);
  new Uint32Array(params, 0, 5).set([rows, cols, groups, book.length, CORRECTION_CODE[s.correction]]);
  new Float32Array(params, 20, 1)[0] = 1 / Math.sqrt(G);
  const uniform = createUniformBuffer(device, new Uint8Array(params));
  try {
    dispatch(
      device,
      getPipeline(device, turboquantWgsl(G)),
      [bw, bs, bb, bo, bc, bsc, uniform],
      workgroupGrid(device, rows * groups),
    );
    const out = new Float32Array(await readBuffer(device, bo, 4 * n));
    const codes = new Uint32Array(await readBuffer(device, bc, 4 * n));
    const scales = new Float32Array(await readBuffer(device, bsc, 4 * rows * groups));
    return { weight: { rows, cols, data: out }, codes, scales };
  } finally {
    for (const b of [bw, bs, bb, bo, bc, bsc, uniform]) b.destroy();
  }
}
