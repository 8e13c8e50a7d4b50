import { registerKernel } from '@nq/core';
import { rotate } from './cpu/rotate.js';

/**
 * Registers @nq/hadamard's kernels in @nq/core's (op, backend) registry — the only module here with
 * side effects; import it explicitly ('@nq/hadamard/register'). The webgpu and gpu.js entries load
 * their backends lazily, so registering does not load dawn-node or gpu.js.
 *   op 'hadamard.rotate': (x: Matrix, spec: RotationSpec, { inverse }) → Matrix (Promise on GPUs)
 */
export const ROTATE_OP = 'hadamard.rotate';

registerKernel({
  op: ROTATE_OP,
  backend: 'cpu',
  fn: rotate,
  capabilities: {
    sizes: 'powers of two; m·2^k (m: Paley I/II, 156, 172, Kronecker products ≤ 512)',
    stages: ['hadamard', 'orthogonal'],
    simd: 'wasm f32x4 for full-row power-of-two stages',
  },
});
registerKernel({
  op: ROTATE_OP,
  backend: 'webgpu',
  fn: async (...args: Parameters<typeof import('./webgpu/rotate.js').rotateWebGPU>) =>
    (await import('./webgpu/rotate.js')).rotateWebGPU(...args),
  capabilities: {
    sizes: 'as cpu; dim a multiple of 4',
    subgroups: 'used when the adapter has them with size 32',
    dataOnGpu: 'rotateGpu / encodeRotation',
  },
});
registerKernel({
  op: ROTATE_OP,
  backend: 'gpujs',
  fn: async (...args: Parameters<typeof import('./gpujs/rotate.js').rotateGpuJs>) =>
    (await import('./gpujs/rotate.js')).rotateGpuJs(...args),
  capabilities: { sizes: 'as cpu', modes: ['webgpu', 'webasm', 'cpu'] },
});
