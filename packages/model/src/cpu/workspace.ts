import type { ModelConfig } from '../types.js';
import { AttentionScratch } from './attention-gemm.js';
import { RopeTable } from './ops.js';
import type { WasmGemm } from './wasm/wasm-gemm.js';

/** Where a workspace's activation arrays live: plain JS memory, or pinned in a GEMM engine's memory. */
interface Allocator {
  alloc(n: number): Float32Array;
  free(a: Float32Array): void;
}

const JS_MEMORY: Allocator = { alloc: (n) => new Float32Array(n), free: () => {} };

function engineMemory(engine: WasmGemm): Allocator {
  return { alloc: (n) => engine.pin(n), free: (a) => engine.unpin(a) };
}

/**
 * Scratch buffers of the forward pass for one model shape, grown when a longer sequence comes (to
 * the next power of two, so growth in steps wastes little; the old arrays go back to the allocator).
 * Pinned in the GEMM engine's memory when the forward pass runs on one, so that every GEMM and
 * element-wise kernel reads and writes them in place.
 */
export class Workspace {
  tokens = 0;
  positions = 0;
  x: Float32Array = new Float32Array(0);
  xn: Float32Array = new Float32Array(0);
  q: Float32Array = new Float32Array(0);
  k: Float32Array = new Float32Array(0);
  v: Float32Array = new Float32Array(0);
  att: Float32Array = new Float32Array(0);
  proj: Float32Array = new Float32Array(0);
  gate: Float32Array = new Float32Array(0);
  up: Float32Array = new Float32Array(0);
  scores = new Float64Array(0);
  acc: Float64Array;
  rope: RopeTable;
  attn = new AttentionScratch();
  /** Set while a forward pass uses it: a nested forward pass (from a hook) gets its own. */
  busy = false;

  constructor(
    readonly config: ModelConfig,
    private readonly memory: Allocator = JS_MEMORY,
  ) {
    const hd = config.dim / config.nHeads;
    this.acc = new Float64Array(hd);
    this.rope = new RopeTable(hd, config.ropeTheta);
  }

  ensure(T: number, positions: number): void {
    const c = this.config;
    if (T > this.tokens) {
      const cap = 2 ** Math.ceil(Math.log2(T));
      const hd = c.dim / c.nHeads;
      const qDim = c.nHeads * hd;
      const kv = c.nKvHeads * hd;
      const m = this.memory;
      for (const a of [this.x, this.xn, this.q, this.k, this.v, this.att, this.proj, this.gate, this.up])
        if (a.length > 0) m.free(a);
      this.x = m.alloc(cap * c.dim);
      this.xn = m.alloc(cap * c.dim);
      this.q = m.alloc(cap * qDim);
      this.k = m.alloc(cap * kv);
      this.v = m.alloc(cap * kv);
      this.att = m.alloc(cap * qDim);
      this.proj = m.alloc(cap * c.dim);
      this.gate = m.alloc(cap * c.hiddenDim);
      this.up = m.alloc(cap * c.hiddenDim);
      this.tokens = cap;
    }
    if (positions > this.positions) {
      this.scores = new Float64Array(positions);
      this.positions = positions;
    }
    this.rope.ensure(positions);
  }
}

/** Workspaces by engine (null: JS memory) and model shape: models of one shape share one. */
const workspaces = new WeakMap<WasmGemm | typeof JS_MEMORY, Map<string, Workspace>>();

function shapeKey(c: ModelConfig): string {
  return `${c.dim}/${c.nHeads}/${c.nKvHeads}/${c.hiddenDim}/${c.ropeTheta}`;
}

/**
 * The workspace for a forward pass of a model of shape `config` on `engine` (or JS memory), marked
 * busy; call `release` when the pass ends. A busy one (a forward pass nested inside a hook) yields a
 * fresh, unshared workspace in JS memory instead.
 */
export function takeWorkspace(config: ModelConfig, engine: WasmGemm | undefined): Workspace {
  const owner = engine ?? JS_MEMORY;
  let byShape = workspaces.get(owner);
  if (!byShape) {
    byShape = new Map();
    workspaces.set(owner, byShape);
  }
  const key = shapeKey(config);
  let ws = byShape.get(key);
  if (!ws) {
    ws = new Workspace(config, engine ? engineMemory(engine) : JS_MEMORY);
    byShape.set(key, ws);
  }
  if (ws.busy) return new Workspace(config);
  ws.busy = true;
  return ws;
}

export function releaseWorkspace(ws: Workspace): void {
  ws.busy = false;
}
