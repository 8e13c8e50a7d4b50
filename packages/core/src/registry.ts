import { NqError, NqInputError } from './errors.js';

/**
 * The (op, backend) kernel registry. Each backend module of a technique package registers its kernels
 * from one explicit `register.ts`; registering the same (op, backend) twice is a bug and throws.
 * Kernels declare what they support so that callers can pick one without trying it.
 */
export type BackendName = 'cpu' | 'webgpu' | 'gpujs';

export interface KernelCapabilities {
  /** Free-form declarations, e.g. { sizes: 'power of two ≤ 16384', bits: [4, 8] }. */
  [key: string]: unknown;
}

export interface KernelConfig<F = (...args: never[]) => unknown> {
  op: string;
  backend: BackendName;
  fn: F;
  capabilities?: KernelCapabilities;
}

const kernels = new Map<string, KernelConfig>();
const key = (op: string, backend: string) => `${op}@${backend}`;

export function registerKernel<F>(config: KernelConfig<F>): void {
  const k = key(config.op, config.backend);
  if (kernels.has(k)) throw new NqError('NQ_DUPLICATE_KERNEL', `kernel ${k} is already registered`);
  kernels.set(k, config as KernelConfig);
}

export function getKernel<F>(op: string, backend: BackendName): KernelConfig<F> {
  const c = kernels.get(key(op, backend));
  if (!c) {
    const have = [...kernels.values()].filter((x) => x.op === op).map((x) => x.backend);
    throw new NqInputError(
      'backend',
      `no kernel "${op}" is registered for backend "${backend}"`,
      have.length
        ? `Available backends for ${op}: ${have.join(', ')}.`
        : `Import the package that provides "${op}" and its register module.`,
    );
  }
  return c as KernelConfig<F>;
}

export function listKernels(): KernelConfig[] {
  return [...kernels.values()];
}
