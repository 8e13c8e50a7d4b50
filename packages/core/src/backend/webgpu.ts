import { NqBackendError } from '../errors.js';

/**
 * WebGPU device acquisition, the same call in Node (dawn-node, the `webgpu` npm package) and in a
 * browser (navigator.gpu).
 *
 * Node, in this order:
 *  1. flags from `NQ_WEBGPU_FLAGS` (comma-separated dawn toggles such as `backend=vulkan`), or none;
 *     ask for a high-performance adapter;
 *  2. if no adapter came back (no GPU, no Vulkan driver), fall back by itself to Mesa's CPU rasterizer
 *     through EGL: EGL_PLATFORM=surfaceless + `backend=opengles` + featureLevel 'compatibility'.
 *     This adapter is correct but slow (about 1 s per 16 MB pass): for conformance tests, not timing.
 * The device asks for the adapter's real limits (workgroup size, storage, buffer sizes) rather than
 * WebGPU's small defaults, and for the optional features nq's kernels use when the adapter has them.
 *
 * One device per process, cached. Lifetime rule (the cause of the "futex facility returned an unexpected
 * error code" aborts, measured in packages/core/README.md): the object returned by dawn-node's `create()`
 * (or its adapter) must stay reachable for as long as any device made from it is used. If the JS side lets
 * both go, the next garbage collection destroys dawn's instance under the live device and the process dies
 * in native code (futex / pthread-mutex assertions, std::system_error, SIGSEGV, or a hang), typically one
 * or two kernel configurations later, when enough garbage has piled up to trigger a GC. So every GPU,
 * adapter and device created here is held in a process-wide list on globalThis (not just this module:
 * a re-evaluated copy of the module, as under test isolation or with src and dist both loaded, reuses the
 * same device instead of creating and later dropping a second instance).
 */
export interface WebGPUContext {
  device: GPUDevice;
  adapter: GPUAdapter;
  /** Human-readable adapter name, e.g. "nvidia-h100-80gb-hbm3" or "llvmpipe (opengles)". */
  adapterName: string;
  /** 'gpu' for a hardware adapter, 'cpu-fallback' for Mesa llvmpipe, 'browser' for navigator.gpu. */
  kind: 'gpu' | 'cpu-fallback' | 'browser';
  /** True in WebGPU compatibility mode (the llvmpipe fallback): some features are restricted. */
  compatibility: boolean;
  /** Optional features that were enabled on the device. */
  features: ReadonlySet<string>;
  limits: GPUSupportedLimits;
  /** dawn-node flags actually used (empty in a browser). */
  flags: string[];
}

export interface WebGPUOptions {
  /** Skip the hardware attempt and take the CPU adapter directly (tests that must be small and exact). */
  forceFallback?: boolean;
  /** Extra dawn-node flags, appended to NQ_WEBGPU_FLAGS. */
  flags?: string[];
}

const OPTIONAL_FEATURES = ['subgroups', 'timestamp-query', 'shader-f16', 'subgroup-size-control'];

// Process-wide state, on globalThis so that every copy of this module shares it (see the note above).
interface ProcessState {
  cached: Promise<WebGPUContext> | null;
  /** dawn's GPU instances, adapters and devices: reachable until the process exits, never collected. */
  keepAlive: unknown[];
}
const STATE_KEY = Symbol.for('@nq/core/webgpu/state');
const g = globalThis as Record<symbol, ProcessState | undefined>;
if (!g[STATE_KEY]) g[STATE_KEY] = { cached: null, keepAlive: [] };
const state: ProcessState = g[STATE_KEY];
const keepAlive = state.keepAlive;

/** The process-wide WebGPU device (created on first call). Throws NqBackendError if none can be had. */
export function getWebGPUDevice(options: WebGPUOptions = {}): Promise<WebGPUContext> {
  if (!state.cached) {
    const p = acquire(options).catch((e) => {
      if (state.cached === p) state.cached = null;
      throw e;
    });
    state.cached = p;
  }
  return state.cached;
}

/** True when a WebGPU device can be acquired here (hardware or CPU fallback). Never throws. */
export async function hasWebGPU(): Promise<boolean> {
  try {
    await getWebGPUDevice();
    return true;
  } catch {
    return false;
  }
}

async function acquire(options: WebGPUOptions): Promise<WebGPUContext> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  if (!isNode && nav?.gpu) {
    const adapter = await nav.gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter)
      throw new NqBackendError('webgpu', 'navigator.gpu returned no adapter. Enable WebGPU in the browser.');
    return finish(adapter, 'browser', false, []);
  }
  if (!isNode)
    throw new NqBackendError(
      'webgpu',
      'no navigator.gpu in this environment. Use a WebGPU-capable browser or Node with the `webgpu` package.',
    );

  let mod: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    mod = (await import('webgpu')) as unknown as typeof mod;
  } catch (e) {
    throw new NqBackendError(
      'webgpu',
      'the `webgpu` package (dawn-node) is not installed. Run `pnpm add webgpu` to use the WebGPU backend.',
      { cause: e },
    );
  }
  // dawn-node checks `instanceof` against its own globals (GPUBufferUsage, GPUMapMode, ...).
  Object.assign(globalThis, mod.globals);
  const envFlags = (process.env.NQ_WEBGPU_FLAGS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const flags = [...envFlags, ...(options.flags ?? [])];

  if (!options.forceFallback) {
    try {
      const gpu = mod.create(flags);
      keepAlive.push(gpu);
      const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
      if (adapter && !isSoftwareAdapter(adapter)) return finish(adapter, 'gpu', false, flags);
    } catch {
      // fall through to the CPU adapter
    }
  }

  // Mesa llvmpipe through EGL without a display (see shared/gpu/README.md for what was measured).
  process.env.EGL_PLATFORM ??= 'surfaceless';
  const fbFlags = ['backend=opengles', ...flags.filter((f) => !f.startsWith('backend='))];
  let adapter: GPUAdapter | null = null;
  try {
    const gpu = mod.create(fbFlags);
    keepAlive.push(gpu);
    adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' } as GPURequestAdapterOptions);
  } catch (e) {
    throw new NqBackendError(
      'webgpu',
      `dawn-node failed to create the CPU fallback adapter: ${(e as Error).message}`,
      { cause: e },
    );
  }
  if (!adapter) {
    throw new NqBackendError(
      'webgpu',
      'no GPU adapter and no CPU fallback adapter. On Debian install the Mesa EGL/GLES drivers: ' +
        'apt-get install -y --no-install-recommends libegl1 libgles2 libegl-mesa0 libgl1-mesa-dri',
    );
  }
  return finish(adapter, 'cpu-fallback', true, fbFlags);
}

function isSoftwareAdapter(adapter: GPUAdapter): boolean {
  const info = adapter.info;
  const s =
    `${info?.vendor ?? ''} ${info?.architecture ?? ''} ${info?.device ?? ''} ${info?.description ?? ''}`.toLowerCase();
  // A software Vulkan (lavapipe/SwiftShader) would be taken for a GPU otherwise; prefer it anyway only if
  // it is all there is — but these are known to be refused or slower than the GLES path here.
  return /swiftshader|lavapipe|llvmpipe/.test(s);
}

async function finish(
  adapter: GPUAdapter,
  kind: WebGPUContext['kind'],
  compatibility: boolean,
  flags: string[],
): Promise<WebGPUContext> {
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const requiredLimits: Record<string, number> = {};
  // Ask for everything the adapter offers instead of the spec defaults (e.g. 128 → 1024 invocations).
  const lim = adapter.limits as unknown as Record<string, number>;
  for (const key in lim) {
    const v = lim[key];
    if (typeof v === 'number') requiredLimits[key] = v;
  }
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  } catch (e) {
    // Some adapters reject a few reported limits; retry with features only.
    device = await adapter.requestDevice({ requiredFeatures }).catch((e2) => {
      throw new NqBackendError('webgpu', `requestDevice failed: ${(e2 as Error).message}`, { cause: e });
    });
  }
  keepAlive.push(adapter, device);
  const info = adapter.info;
  const base = info?.device || info?.description || info?.architecture || info?.vendor || 'unknown adapter';
  const adapterName = kind === 'cpu-fallback' ? `${base} (opengles, compatibility)` : base;
  return {
    device,
    adapter,
    adapterName,
    kind,
    compatibility,
    features: new Set(device.features as unknown as Iterable<string>),
    limits: device.limits,
    flags,
  };
}

export * from './webgpu-util.js';
