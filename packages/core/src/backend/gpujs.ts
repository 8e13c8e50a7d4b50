import { NqBackendError, NqInputError } from '../errors.js';
import { getWebGPUDevice } from './webgpu.js';

/**
 * gpu.js instances. Modes:
 *  - 'webgpu'     : gpu.js on WebGPU, wired to the same dawn-node adapter nq uses (hardware, or the
 *                   Mesa CPU fallback on machines without a GPU);
 *  - 'webasm'     : gpu.js compiling kernels to WebAssembly (SIMD, worker threads);
 *  - 'headlessgl' : WebGL through the optional `gl` package (needs a native build and an X display);
 *  - 'cpu'        : gpu.js's plain JavaScript fallback.
 * `mode` reports what gpu.js actually runs, which can differ from what was asked for if gpu.js fell back.
 */
export type GpuJsMode = 'webgpu' | 'webasm' | 'headlessgl' | 'cpu';

export interface GpuJsContext {
  // gpu.js's GPU instance; typed loosely because gpu.js ships no types for its newer modes.
  // biome-ignore lint/suspicious/noExplicitAny: third-party object without typings
  gpu: any;
  requested: GpuJsMode;
  mode: string;
  adapterName?: string;
}

const cache = new Map<GpuJsMode, Promise<GpuJsContext>>();

export function getGpuJs(requested: GpuJsMode = 'webasm'): Promise<GpuJsContext> {
  if (!['webgpu', 'webasm', 'headlessgl', 'cpu'].includes(requested)) {
    throw new NqInputError('mode', `unknown gpu.js mode "${requested}"`, 'Use one of webgpu, webasm, headlessgl, cpu.');
  }
  let p = cache.get(requested);
  if (!p) {
    p = create(requested).catch((e) => {
      cache.delete(requested);
      throw e;
    });
    cache.set(requested, p);
  }
  return p;
}

async function create(requested: GpuJsMode): Promise<GpuJsContext> {
  // biome-ignore lint/suspicious/noExplicitAny: gpu.js has partial typings
  let GPU: any;
  try {
    const mod = (await import('gpu.js')) as { GPU?: unknown; default?: { GPU?: unknown } };
    GPU = mod.GPU ?? mod.default?.GPU;
  } catch (e) {
    throw new NqBackendError('gpujs', 'the `gpu.js` package is not installed. Run `pnpm add gpu.js` to use the gpu.js backend.', { cause: e });
  }
  let adapterName: string | undefined;
  if (requested === 'webgpu') {
    const ctx = await getWebGPUDevice();
    adapterName = ctx.adapterName;
    // gpu.js looks for navigator.gpu; give it a GPU whose requestAdapter returns nq's adapter, so it
    // runs on the same (possibly compatibility-mode) adapter as the raw WebGPU backend.
    const shim = {
      requestAdapter: async () => ctx.adapter,
      getPreferredCanvasFormat: () => 'rgba8unorm',
      wgslLanguageFeatures: new Set<string>(),
    };
    const g = globalThis as { navigator?: { gpu?: unknown } };
    if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: { gpu: shim }, configurable: true, writable: true });
    else if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: shim, configurable: true });
  }
  let gpu: unknown;
  try {
    gpu = new GPU({ mode: requested });
    // biome-ignore lint/suspicious/noExplicitAny: see above
    const g = gpu as any;
    if (typeof g.ready === 'function') await g.ready();
    else if (g.readyPromise) await g.readyPromise;
  } catch (e) {
    throw new NqBackendError('gpujs', `gpu.js could not start in mode "${requested}": ${(e as Error).message}`, { cause: e });
  }
  // biome-ignore lint/suspicious/noExplicitAny: see above
  const mode = String((gpu as any).mode ?? requested);
  return { gpu, requested, mode, adapterName };
}
