import { NqBackendError, NqInputError } from '../errors.js';
import { getWebGPUDevice } from './webgpu.js';

/**
 * gpu.js instances (gpu.js 2.24.x, whose API differs from the classic 2.x one in ways that matter here:
 * WebGPU kernels return Promises, webasm threads only under the async contract, and the WebGPU device
 * is acquired lazily on the first kernel call). Modes:
 *  - 'webgpu'     : WGSL compute shaders on WebGPU. In Node gpu.js looks for `navigator.gpu`; nq installs
 *                   one whose adapter hands gpu.js nq's own dawn-node device (see getWebGPUDevice), so
 *                   gpu.js kernels and raw nq kernels share one device, one queue, and the CPU fallback
 *                   adapter (compatibility mode) where there is no GPU. Every kernel call returns a Promise.
 *  - 'webasm'     : kernels compiled to WebAssembly with SIMD; with `asyncMode: true` on a kernel large
 *                   outputs split over a worker_threads pool. Unsupported features (kernel maps, textures)
 *                   degrade to 'cpu' per kernel — check `kernelBackend(kernel)`.
 *  - 'headlessgl' : WebGL through the optional native `gl` package: needs it built from source and an X
 *                   display (xvfb-run). Not available on CI or developer machines by default.
 *  - 'cpu'        : gpu.js's plain JavaScript.
 * `await kernel(...)` is correct in every mode (non-Promise results pass through `await` unchanged).
 */
export type GpuJsMode = 'webgpu' | 'webasm' | 'headlessgl' | 'cpu';

export const GPUJS_MODES: readonly GpuJsMode[] = ['webgpu', 'webasm', 'headlessgl', 'cpu'];

export interface GpuJsContext {
  // gpu.js's GPU instance; typed loosely because gpu.js ships no types for its newer modes.
  // biome-ignore lint/suspicious/noExplicitAny: third-party object without typings
  gpu: any;
  requested: GpuJsMode;
  /** The kernel class gpu.js chose, as its mode name ('webgpu', 'webasm', 'headlessgl', 'cpu'). */
  mode: string;
  /** For 'webgpu': the adapter nq's device runs on. */
  adapterName?: string;
}

const cache = new Map<GpuJsMode, Promise<GpuJsContext>>();

/**
 * A gpu.js instance in `requested` mode, created once per mode and process. Throws NqInputError for an
 * unknown mode and NqBackendError (with what to install) when the mode cannot run here.
 */
export function getGpuJs(requested: GpuJsMode = 'webasm'): Promise<GpuJsContext> {
  if (!GPUJS_MODES.includes(requested)) {
    throw new NqInputError(
      'mode',
      `unknown gpu.js mode "${requested}"`,
      `Use one of ${GPUJS_MODES.join(', ')}.`,
    );
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

/** True when `getGpuJs(mode)` succeeds here. Never throws. */
export async function hasGpuJs(mode: GpuJsMode): Promise<boolean> {
  try {
    await getGpuJs(mode);
    return true;
  } catch {
    return false;
  }
}

/**
 * The backend a gpu.js kernel actually runs on ('webgpu', 'webasm', 'cpu', ...). A kernel can degrade to
 * 'cpu' on its first call (webasm does for kernel maps and textures), so ask after calling it.
 */
// biome-ignore lint/suspicious/noExplicitAny: gpu.js kernel shortcut object
export function kernelBackend(kernel: any): string {
  return String(kernel?.kernel?.constructor?.mode ?? 'unknown');
}

type GpuJsModule = {
  // biome-ignore lint/suspicious/noExplicitAny: gpu.js module without complete typings
  GPU: any;
  WebGPUContext?: { acquire(): Promise<unknown> };
  HeadlessGLKernel?: { isSupported: boolean };
};

async function loadGpuJs(): Promise<GpuJsModule> {
  try {
    const mod = (await import('gpu.js')) as Partial<GpuJsModule> & { default?: GpuJsModule };
    const m = (mod.GPU ? mod : mod.default) as GpuJsModule | undefined;
    if (!m?.GPU) throw new Error('gpu.js exports no GPU class');
    return m;
  } catch (e) {
    throw new NqBackendError(
      'gpujs',
      'the `gpu.js` package is not installed. Run `pnpm add gpu.js` to use the gpu.js backend.',
      {
        cause: e,
      },
    );
  }
}

async function create(requested: GpuJsMode): Promise<GpuJsContext> {
  const m = await loadGpuJs();
  let adapterName: string | undefined;
  if (requested === 'webgpu') adapterName = await installNavigatorGpu();
  if (requested === 'headlessgl' && !m.HeadlessGLKernel?.isSupported) {
    throw new NqBackendError(
      'gpujs',
      'gpu.js headlessgl mode needs the native `gl` package built from source (apt: libxi-dev libxext-dev ' +
        'libx11-dev libgl-dev pkg-config; allow `gl` in pnpm onlyBuiltDependencies, then `pnpm rebuild gl`) and an X ' +
        'display (run under `xvfb-run -a`). ' +
        'Use the webgpu or webasm mode instead.',
    );
  }
  let gpu: { mode?: string; Kernel?: { mode?: string } };
  try {
    gpu = new m.GPU({ mode: requested });
  } catch (e) {
    throw new NqBackendError(
      'gpujs',
      `gpu.js could not start in mode "${requested}": ${(e as Error).message}`,
      { cause: e },
    );
  }
  if (requested === 'webgpu' && m.WebGPUContext) {
    // gpu.js acquires its device on the first kernel call; do it now so a missing adapter fails here,
    // with our error, rather than inside someone's kernel.
    try {
      await m.WebGPUContext.acquire();
    } catch (e) {
      throw new NqBackendError('gpujs', `gpu.js found no WebGPU device: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
  const mode = String(gpu.Kernel?.mode ?? gpu.mode ?? requested);
  return { gpu, requested, mode, adapterName };
}

/**
 * Node has no navigator.gpu. Give gpu.js one whose requestAdapter answers with a stand-in for nq's adapter
 * whose requestDevice returns nq's existing device: one device per process (dawn-node's instance, adapter
 * and device then live exactly as long as nq keeps them — see the lifetime notes in webgpu-util.ts), and
 * the compatibility-mode CPU adapter works without gpu.js knowing about feature levels.
 * In a browser (navigator.gpu present) nothing is changed.
 */
async function installNavigatorGpu(): Promise<string> {
  const ctx = await getWebGPUDevice();
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator?.gpu)
    return ctx.kind === 'browser' ? ctx.adapterName : `${ctx.adapterName} (navigator.gpu already set)`;
  const adapter = ctx.adapter;
  const standIn = {
    features: adapter.features,
    limits: adapter.limits,
    info: adapter.info,
    isFallbackAdapter: false,
    requestDevice: async () => ctx.device,
  };
  const shim = {
    requestAdapter: async () => standIn,
    getPreferredCanvasFormat: () => 'rgba8unorm',
    wgslLanguageFeatures: new Set<string>(),
  };
  if (!g.navigator)
    Object.defineProperty(globalThis, 'navigator', {
      value: { gpu: shim },
      configurable: true,
      writable: true,
    });
  else Object.defineProperty(g.navigator, 'gpu', { value: shim, configurable: true, writable: true });
  return ctx.adapterName;
}
