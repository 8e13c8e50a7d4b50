import fs from 'node:fs';
import path from 'node:path';
import { syntheticSpec } from '../synthetic/profiles.js';
import { parseQuant, parseRotation, parseWeight } from '../techniques/catalog.js';
import { ROTATION_BUILDERS } from '../techniques/ops.js';
import { specId } from '../util/canonical.js';
import { discoverModels } from '../util/discover-models.js';
import { readModelDims } from '../util/model-dims.js';
import { portablePath, sharedDir } from '../util/paths.js';
import type {
  BackendTag,
  CellSpec,
  DiscoverCell,
  GeometryCell,
  KernelCell,
  LayerCell,
  ModelCell,
} from './cell.js';
import { type Sweep, TEXT_NAMES } from './schema.js';

export interface Cell {
  id: string;
  spec: CellSpec;
}

export interface Grid {
  cells: Cell[];
  /** Why parts of the grid were left out (e.g. no model found), for the user. */
  notes: string[];
}

export interface GridOptions {
  /**
   * Backend of the kernel and layer cells' rotations and quantizers (`nq sweep --backend`); absent =
   * the CPU reference. Part of each cell's spec, so CPU and GPU rows are different cells.
   */
  backend?: BackendTag;
}

/**
 * Expands a validated sweep into its cells, in a fixed order (seed outermost so that a partial run
 * has every configuration for the first seeds). Duplicate specs collapse to one cell.
 */
export function expandGrid(sweep: Sweep, options: GridOptions = {}): Grid {
  const onBackend = options.backend ? { backend: options.backend } : {};
  const cells: Cell[] = [];
  const notes: string[] = [];
  const seen = new Set<string>();
  const push = (spec: CellSpec) => {
    const id = specId(spec);
    if (seen.has(id)) return;
    seen.add(id);
    cells.push({ id, spec });
  };
  for (const seed of sweep.seeds) {
    const k = sweep.kernel;
    if (k) {
      for (const profile of k.data) {
        const data = syntheticSpec(profile, { tokens: k.tokens, channels: k.channels, out: k.out });
        for (const rot of k.rotations) {
          for (const act of k.act) {
            for (const w of k.weight) {
              const cell: KernelCell = {
                v: 1,
                study: 'kernel',
                data,
                rotation: {
                  name: rot,
                  spec: parseRotation(rot)!,
                  builder: ROTATION_BUILDERS[parseRotation(rot)!.kind],
                },
                act: { name: act, spec: act === 'none' ? null : parseQuant(act)! },
                weight: { name: w, spec: w === 'none' ? null : parseWeight(w)! },
                seed,
                ...onBackend,
              };
              push(cell);
            }
          }
        }
      }
    }
  }
  const L = sweep.layers;
  if (L) {
    const models = resolveModels(L.models, notes);
    const text = resolveText(L.text, notes);
    const skipped = new Map<string, number>();
    for (const seed of sweep.seeds) {
      for (const model of models) {
        if (!text) continue;
        const dims = readModelDims(model);
        const layers = L.layers ?? Array.from({ length: dims.nLayers }, (_, i) => i);
        for (const layer of layers) {
          if (layer >= dims.nLayers) {
            notes.push(
              `layer ${layer} does not exist in ${path.basename(model)} (${dims.nLayers} layers): left out`,
            );
            continue;
          }
          for (const tap of L.taps) {
            const channels = tap === 'down_in' ? dims.hiddenDim : dims.dim;
            for (const rot of L.rotations) {
              const rspec = parseRotation(rot)!;
              if (rspec.kind === 'block-hadamard' && channels % rspec.block !== 0) {
                const k = `${rot} on ${tap} (${channels} channels)`;
                skipped.set(k, (skipped.get(k) ?? 0) + 1);
                continue;
              }
              for (const act of L.act) {
                for (const w of L.weight) {
                  const cell: LayerCell = {
                    v: 1,
                    study: 'layer',
                    model: portablePath(model),
                    text: portablePath(text),
                    tokens: L.tokens,
                    layer,
                    tap,
                    rotation: { name: rot, spec: rspec, builder: ROTATION_BUILDERS[rspec.kind] },
                    act: { name: act, spec: act === 'none' ? null : parseQuant(act)! },
                    weight: { name: w, spec: w === 'none' ? null : parseWeight(w)! },
                    seed,
                    ...onBackend,
                  };
                  push(cell);
                }
              }
            }
          }
        }
      }
    }
    for (const [k, n] of skipped)
      notes.push(`${n} layer cells left out: block of ${k} does not divide the channels`);
  }
  const m = sweep.model;
  if (m) {
    const models = resolveModels(m.models, notes);
    const texts = m.texts.map((t) => resolveText(t, notes)).filter((t): t is string => t !== null);
    for (const seed of sweep.seeds) {
      for (const model of models) {
        for (const text of texts) {
          for (const recipe of m.recipes) {
            const cell: ModelCell = {
              v: 1,
              study: 'model',
              model: portablePath(model),
              text: portablePath(text),
              recipe,
              ctx: m.ctx,
              windows: m.windows,
              ...(m.stride !== undefined ? { stride: m.stride } : {}),
              seed,
            };
            push(cell);
          }
        }
      }
    }
  }
  const D = sweep.discover;
  if (D) {
    const models = resolveModels(D.models, notes);
    const text = resolveText(D.text, notes);
    const check = D.model_check ? resolveText(D.model_check.text, notes) : null;
    for (const seed of sweep.seeds) {
      for (const model of models) {
        if (!text || (D.model_check && !check)) continue;
        const dims = readModelDims(model);
        for (const layer of D.layers) {
          if (layer >= dims.nLayers) {
            notes.push(
              `discover: layer ${layer} does not exist in ${path.basename(model)} (${dims.nLayers} layers): left out`,
            );
            continue;
          }
          for (const input of D.inputs) {
            for (const target of D.targets) {
              const cell: DiscoverCell = {
                v: 1,
                study: 'discover',
                model: portablePath(model),
                text: portablePath(text),
                layer,
                input,
                target,
                capture: {
                  chars: D.chars,
                  ctx: D.ctx,
                  windows: D.windows,
                  tokens: D.tokens,
                  holdout_tokens: D.holdout_tokens,
                },
                search: {
                  population: D.population,
                  generations: D.generations,
                  sign_generations: D.sign_generations,
                  restarts: D.restarts,
                  alpha: D.alpha,
                  beta: D.beta,
                },
                backend: D.backend,
                ...(D.model_check
                  ? {
                      model_check: {
                        text: portablePath(check!),
                        windows: D.model_check.windows,
                        ctx: D.model_check.ctx,
                      },
                    }
                  : {}),
                seed,
              };
              push(cell);
            }
          }
        }
      }
    }
  }
  const G = sweep.geometry;
  if (G) {
    const models = resolveModels(G.models, notes);
    const text = resolveText(G.text, notes);
    for (const model of models) {
      for (const seed of sweep.seeds) {
        if (!text) continue;
        const cell: GeometryCell = {
          v: 1,
          study: 'geometry',
          model: portablePath(model),
          text: portablePath(text),
          recipe: G.recipe,
          windows: G.windows,
          window_length: G.window_length,
          held_out_windows: G.held_out_windows,
          folds: G.folds,
          corrector_iterations: G.corrector_iterations,
          seed,
        };
        push(cell);
      }
    }
  }
  return { cells, notes };
}

function resolveModels(names: string[], notes: string[]): string[] {
  const out: string[] = [];
  for (const n of names) {
    if (n === 'auto' || n === 'all') {
      const found = discoverModels();
      if (found.length === 0)
        notes.push('model study skipped: no model found (set NQ_MODELS or put models in ../shared/models)');
      out.push(...(n === 'auto' ? found.slice(0, 1) : found).map((f) => f.file));
    } else if (fs.existsSync(n)) out.push(path.resolve(n));
    else {
      // A model's folder name under NQ_MODELS / ../shared/models (e.g. nq-docs-d64l2).
      const byName = discoverModels().find((f) => f.name === n);
      if (byName) out.push(byName.file);
      else notes.push(`model ${n} not found: its cells are left out`);
    }
  }
  return out;
}

function resolveText(t: string, notes: string[]): string | null {
  const p = (TEXT_NAMES as readonly string[]).includes(t)
    ? path.join(sharedDir(), 'data', `${t}.txt`)
    : path.resolve(t);
  if (fs.existsSync(p)) return p;
  notes.push(`text ${t} not found at ${p}: its model cells are left out`);
  return null;
}
