import { assertFinite, assertMatrix, type Matrix, NqInputError, NqUnsupportedError } from '@nq/core';
import {
  createStorageBuffer,
  createUniformBuffer,
  destroyGpuMatrix,
  downloadMatrix,
  emptyGpuMatrix,
  type GpuMatrix,
  getPipeline,
  getWebGPUDevice,
  uploadMatrix,
  workgroupGrid,
} from '@nq/core/webgpu';
import { asCompiled, type RotationLike } from '../cpu/rotate.js';
import type { CompiledRotation, CompiledStage } from '../spec.js';
import { fwhtKernelWgsl, log2 } from './wgsl-fwht.js';
import { bitsPassWgsl, mixPassWgsl, orthogonalPassWgsl } from './wgsl-passes.js';

/**
 * WebGPU rotations. A rotation is prepared once per device (signs, H_m and orthogonal blocks
 * uploaded; pipelines compiled and cached by shader text), then applied to GpuMatrix values that
 * stay on the GPU: `encodeRotation` records the passes into an encoder, `rotateGpu` submits them,
 * `rotateWebGPU` is the Matrix → Matrix convenience (upload, rotate, read back).
 *
 * Passes per stage (see wgsl-fwht.ts and wgsl-passes.ts):
 *   hadamard, p ≤ Pmax:  one register/workgroup-memory FWHT pass (signs·scale fused)
 *   hadamard, p > Pmax:  FWHT of Pmax-chunks + bits passes for the high bits (H_p = H_hi ⊗ H_Pmax)
 *   Kronecker m > 1:     + one mix pass (Y = H_mᵀ·Z per block)
 *   orthogonal:          one matmul pass into a scratch buffer + a copy back
 * The first FWHT pass of a rotation reads x and writes out (out of place) when it can; otherwise x is
 * copied to out first and every pass runs in place on out.
 */
export interface WebGPURotation {
  readonly dim: number;
  readonly compiled: CompiledRotation;
  readonly device: GPUDevice;
  /** Frees the uploaded signs / matrices and cached parameter buffers. */
  destroy(): void;
}

interface StageBuffers {
  stage: CompiledStage;
  signs: GPUBuffer | null;
  hm: GPUBuffer | null;
  matrices: GPUBuffer | null;
}

/** Kernel shape overrides (benchmark tuning); by default chosen from the chunk size and device limits. */
export interface WebGPUTuning {
  /** Elements per thread in the FWHT kernel (power of two ≥ 4). */
  elementsPerThread?: number;
  /** Target threads per workgroup (several chunks share a workgroup up to this). */
  threadsPerWorkgroup?: number;
  /** Use subgroup shuffles (default: when the device has 'subgroups' with a fixed size of 32). */
  subgroups?: boolean;
  /** Swizzled workgroup memory (see FwhtKernelConfig.swizzle; default off). */
  swizzle?: boolean;
}

/** True when subgroup shuffles can replace workgroup-memory rounds: 'subgroups' and size exactly 32. */
export function subgroupsUsable(device: GPUDevice, adapter?: GPUAdapter): boolean {
  if (!device.features.has('subgroups')) return false;
  const info = (adapter?.info ??
    (device as unknown as { adapterInfo?: GPUAdapterInfo }).adapterInfo) as unknown as
    | { subgroupMinSize?: number; subgroupMaxSize?: number }
    | undefined;
  return info?.subgroupMinSize === 32 && info?.subgroupMaxSize === 32;
}

interface Prepared extends WebGPURotation {
  tuning: WebGPUTuning;
  stages: StageBuffers[];
  pmax: number;
  uniforms: Map<string, GPUBuffer>;
  scratch: Map<number, GPUBuffer>;
}

export interface WebGPURotateOptions {
  inverse?: boolean;
}

/** Largest power-of-two chunk one workgroup transforms in workgroup memory on this device. */
function maxChunk(device: GPUDevice): number {
  const floats = Math.floor(device.limits.maxComputeWorkgroupStorageSize / 4);
  let p = 4;
  while (p * 2 <= floats && p * 2 <= 8192) p *= 2;
  return p;
}

/** Uploads a rotation's constants to the process-wide WebGPU device. */
export async function prepareRotationWebGPU(
  spec: RotationLike,
  tuning: WebGPUTuning = {},
): Promise<WebGPURotation> {
  const compiled = asCompiled(spec);
  const { device, adapter } = await getWebGPUDevice();
  const useSubgroups = tuning.subgroups ?? subgroupsUsable(device, adapter);
  if (useSubgroups && !device.features.has('subgroups')) {
    throw new NqUnsupportedError(
      'tuning.subgroups on this device',
      "The adapter has no 'subgroups' feature: leave tuning.subgroups unset.",
    );
  }
  if (compiled.dim % 4 !== 0) {
    throw new NqUnsupportedError(
      `dim = ${compiled.dim} on the webgpu backend`,
      'The webgpu kernels move vec4s: use a dim that is a multiple of 4 (or the cpu backend).',
    );
  }
  const stages = compiled.stages.map(
    (stage): StageBuffers => ({
      stage,
      signs: stage.signs ? createStorageBuffer(device, stage.signs) : null,
      hm: stage.hm ? createStorageBuffer(device, stage.hm) : null,
      matrices: stage.matrices ? createStorageBuffer(device, stage.matrices) : null,
    }),
  );
  const prepared: Prepared = {
    dim: compiled.dim,
    compiled,
    device,
    tuning: { ...tuning, subgroups: useSubgroups },
    stages,
    pmax: maxChunk(device),
    uniforms: new Map(),
    scratch: new Map(),
    destroy() {
      for (const s of stages) for (const b of [s.signs, s.hm, s.matrices]) b?.destroy();
      for (const b of prepared.uniforms.values()) b.destroy();
      for (const b of prepared.scratch.values()) b.destroy();
      prepared.uniforms.clear();
      prepared.scratch.clear();
    },
  };
  return prepared;
}

function params(rot: Prepared, key: string, count: number, scale: number): GPUBuffer {
  const k = `${key}|${count}|${scale}`;
  let b = rot.uniforms.get(k);
  if (!b) {
    const data = new ArrayBuffer(16);
    new Uint32Array(data, 0, 2).set([count, rot.dim]);
    new Float32Array(data, 8, 1)[0] = scale;
    b = createUniformBuffer(rot.device, new Uint8Array(data));
    rot.uniforms.set(k, b);
  }
  return b;
}

function pass(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  code: string,
  buffers: GPUBuffer[],
  groups: number,
): void {
  const pipeline = getPipeline(device, code);
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const p = encoder.beginComputePass();
  p.setPipeline(pipeline);
  p.setBindGroup(0, bindGroup);
  const [gx, gy] = workgroupGrid(device, Math.max(1, groups));
  p.dispatchWorkgroups(gx, gy, 1);
  p.end();
}

/** Threads and elements per thread for a chunk of P floats within this device's limits. */
/**
 * Default shape, from the H100 sweeps (README, runs 1–3). With subgroups: E = 4 for P ≤ 128, 8 up to
 * P = 4096, 16 beyond; 128 threads per workgroup up to P = 1024, else one chunk per workgroup
 * (n = 4096: E = 8, 512 threads, 1721 GB/s vs 1203 for E = 32). Without subgroups: E = 4 up to
 * P = 1024, else 8, 256 threads.
 */
function fwhtShape(device: GPUDevice, P: number, tuning: WebGPUTuning): { E: number; rowsPerWg: number } {
  const sg = tuning.subgroups === true;
  const defaultE = sg ? (P <= 128 ? 4 : P <= 4096 ? 8 : 16) : P <= 1024 ? 4 : 8;
  let E = Math.min(P, tuning.elementsPerThread ?? defaultE);
  const maxThreads = Math.min(
    device.limits.maxComputeInvocationsPerWorkgroup,
    device.limits.maxComputeWorkgroupSizeX,
  );
  while (P / E > maxThreads) E *= 2;
  const T = P / E;
  const floats = Math.floor(device.limits.maxComputeWorkgroupStorageSize / 4);
  let rowsPerWg = Math.max(1, Math.floor((tuning.threadsPerWorkgroup ?? (sg ? 128 : 256)) / T));
  while (rowsPerWg > 1 && (rowsPerWg * P > floats || rowsPerWg * T > maxThreads)) rowsPerWg >>= 1;
  return { E, rowsPerWg };
}

type Mul = 'none' | 'scale' | 'signs';

/**
 * Records x ↦ x·R (or x·Rᵀ) into `encoder`: out = rotated x. x and out may be the same GpuMatrix
 * (in place). Nothing is submitted.
 */
export function encodeRotation(
  rotation: WebGPURotation,
  x: GpuMatrix,
  out: GpuMatrix,
  options: WebGPURotateOptions,
  encoder: GPUCommandEncoder,
): void {
  const rot = rotation as Prepared;
  const device = rot.device;
  const n = rot.dim;
  if (x.cols !== n)
    throw new NqInputError(
      'x',
      `has ${x.cols} columns but the rotation has dim ${n}`,
      'Rotate matrices whose rows have dim channels.',
    );
  if (out.rows !== x.rows || out.cols !== x.cols)
    throw new NqInputError(
      'out',
      `has shape ${out.rows}×${out.cols}, x has ${x.rows}×${x.cols}`,
      'Pass an output of the same shape.',
    );
  const rows = x.rows;
  if (rows === 0) return;
  const inverse = options.inverse === true;
  const total = rows * n;
  let pendingSrc: GPUBuffer | null = x.buffer === out.buffer ? null : x.buffer; // consumed by the first pass that can read it
  const ensureCopied = () => {
    if (pendingSrc) {
      encoder.copyBufferToBuffer(pendingSrc, 0, out.buffer, 0, total * 4);
      pendingSrc = null;
    }
  };
  const order = inverse ? [...rot.stages].reverse() : rot.stages;
  order.forEach((sb, si) => {
    const st = sb.stage;
    const key = `${inverse ? 'i' : 'f'}${si}`;
    if (st.kind === 'orthogonal') {
      ensureCopied();
      let tmp = rot.scratch.get(total);
      if (!tmp) {
        tmp = createStorageBuffer(device, total * 4);
        rot.scratch.set(total, tmp);
      }
      pass(
        device,
        encoder,
        orthogonalPassWgsl(st.block, inverse),
        [out.buffer, tmp, params(rot, `${key}o`, total, 1), sb.matrices!],
        Math.ceil(total / 256),
      );
      encoder.copyBufferToBuffer(tmp, 0, out.buffer, 0, total * 4);
      return;
    }
    const mulKind: Mul = st.signs ? 'signs' : st.scale !== 1 ? 'scale' : 'none';
    const { m, p } = st;
    const mix = () => {
      let tc = Math.min(32, p);
      const floats = Math.floor(device.limits.maxComputeWorkgroupStorageSize / 4);
      while (tc > 1 && m * tc > floats) tc >>= 1;
      const blocks = total / st.block;
      pass(
        device,
        encoder,
        mixPassWgsl(m, p, tc, inverse),
        [out.buffer, params(rot, `${key}m`, blocks, 1), sb.hm!],
        blocks * (p / tc),
      );
    };
    if (inverse && m > 1) {
      ensureCopied();
      mix();
    }
    encodeFwht(rot, encoder, p, total, mulKind, st.scale, sb.signs, inverse, key, pendingSrc, out.buffer);
    pendingSrc = null;
    if (!inverse && m > 1) mix();
  });
  ensureCopied();
}

/** FWHT over contiguous p-chunks of `total` floats in `dst` (reading `src` first when given). */
function encodeFwht(
  rot: Prepared,
  encoder: GPUCommandEncoder,
  p: number,
  total: number,
  mul: Mul,
  scale: number,
  signs: GPUBuffer | null,
  inverse: boolean,
  key: string,
  src: GPUBuffer | null,
  dst: GPUBuffer,
): void {
  const device = rot.device;
  const extra = (kind: Mul) => (kind === 'signs' ? [signs!] : []);
  if (p < 4) {
    if (src) encoder.copyBufferToBuffer(src, 0, dst, 0, total * 4);
    const lo = 0;
    const hi = log2(p);
    const pre: Mul = inverse ? 'none' : mul;
    const post: Mul = inverse ? mul : 'none';
    const groups = total >> (hi - lo);
    pass(
      device,
      encoder,
      bitsPassWgsl(p, lo, hi, pre, post),
      [dst, params(rot, `${key}s`, groups, scale), ...extra(pre === 'none' ? post : pre)],
      Math.ceil(groups / 256),
    );
    return;
  }
  const chunk = Math.min(p, rot.pmax);
  const { E, rowsPerWg } = fwhtShape(device, chunk, rot.tuning);
  const chunks = total / chunk;
  const highBits: [number, number][] = [];
  for (let lo = log2(chunk); lo < log2(p); lo += 3) highBits.push([lo, Math.min(lo + 3, log2(p))]);
  const runChunks = (pre: Mul, post: Mul, from: GPUBuffer | null) => {
    const code = fwhtKernelWgsl({
      P: chunk,
      E,
      rowsPerWg,
      pre,
      post,
      outOfPlace: from !== null,
      subgroups: rot.tuning.subgroups === true,
      swizzle: rot.tuning.swizzle === true,
    });
    const u = params(rot, `${key}c`, chunks, scale);
    const bufs = from ? [from, dst, u] : [dst, u];
    pass(
      device,
      encoder,
      code,
      [...bufs, ...extra(pre === 'none' ? post : pre)],
      Math.ceil(chunks / rowsPerWg),
    );
  };
  const runHigh = () => {
    for (const [lo, hi] of highBits) {
      const groups = total >> (hi - lo);
      pass(
        device,
        encoder,
        bitsPassWgsl(p, lo, hi, 'none', 'none'),
        [dst, params(rot, `${key}h${lo}`, groups, 1)],
        Math.ceil(groups / 256),
      );
    }
  };
  if (!inverse) {
    runChunks(mul, 'none', src);
    runHigh();
  } else if (highBits.length === 0) {
    runChunks('none', mul, src);
  } else {
    if (src) encoder.copyBufferToBuffer(src, 0, dst, 0, total * 4);
    runHigh();
    runChunks('none', mul, null);
  }
}

/**
 * x ↦ x·R on the GPU; returns `options.out` (or a new GpuMatrix). Submits the work; nothing is read
 * back. No NaN/Inf check on GPU-resident data (rotateWebGPU checks Matrix inputs on upload).
 */
export async function rotateGpu(
  x: GpuMatrix,
  spec: RotationLike | WebGPURotation,
  options: WebGPURotateOptions & { out?: GpuMatrix } = {},
): Promise<GpuMatrix> {
  const rot = isPrepared(spec) ? spec : await prepareRotationWebGPU(spec);
  const out = options.out ?? emptyGpuMatrix(rot.device, x.rows, x.cols);
  const encoder = rot.device.createCommandEncoder();
  encodeRotation(rot, x, out, options, encoder);
  rot.device.queue.submit([encoder.finish()]);
  if (!isPrepared(spec)) {
    await rot.device.queue.onSubmittedWorkDone();
    rot.destroy();
  }
  return out;
}

function isPrepared(s: unknown): s is WebGPURotation {
  return !!s && typeof s === 'object' && 'device' in s && 'compiled' in s;
}

/** Matrix → Matrix convenience: checks x (NaN/Inf), uploads, rotates, reads back. */
export async function rotateWebGPU(
  x: Matrix,
  spec: RotationLike | WebGPURotation,
  options: WebGPURotateOptions = {},
): Promise<Matrix> {
  assertMatrix(x, 'x');
  const rot = isPrepared(spec) ? spec : await prepareRotationWebGPU(spec);
  if (x.cols !== rot.dim) {
    throw new NqInputError(
      'x',
      `has ${x.cols} columns but the rotation has dim ${rot.dim}`,
      'Rotate matrices whose rows have dim channels.',
    );
  }
  assertFinite(x, 'x');
  const g = uploadMatrix(rot.device, x);
  try {
    await rotateGpu(g, rot, { ...options, out: g });
    return await downloadMatrix(rot.device, g);
  } finally {
    destroyGpuMatrix(g);
    if (!isPrepared(spec)) rot.destroy();
  }
}
