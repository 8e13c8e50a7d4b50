import { NqInputError } from '@nq/core';

/**
 * A recipe: how every linear inside the transformer blocks (q, k, v, o, gate, up, down) computes.
 * Embeddings, norms and the classifier always stay full precision. Plain JSON, stored verbatim with
 * every result so a number can be reproduced from its row. Rounding is half-to-even everywhere.
 */
export interface RecipeSpec {
  version: 1;
  /** Canonical name (e.g. 'had-w4a4:w-only+kv4'), or a user label for a custom JSON spec. */
  name: string;
  /** Weight fake-quant, applied once to every block linear (after any rotation); null = fp. */
  weights: WeightQuant | null;
  /** Dynamic activation fake-quant of every block linear's input (after any rotation); null = fp. */
  activations: ActQuant | null;
  /** Per-linear online rotation ŷ = Q_a(x·R)·Q_w(W·R)ᵀ; null = none. Not used with `quarot`. */
  rotation: RotationChoice | null;
  /**
   * QuaRot's fused form instead of `rotation`: RMSNorm scales fused into the next linears, a random
   * Hadamard R1 on the residual stream fused into the weights (embedding, every block linear,
   * classifier), and an online random Hadamard R4 before down_proj (down's weight holds W·R4).
   */
  quarot: { seed: number } | null;
  /** KV-cache fake-quant: every K row (after RoPE) and V row, per head and per token; null = fp. */
  kv: { bits: number } | null;
}

export interface WeightQuant {
  bits: number;
  /** 'row': one scale per output row; 'group': per groupSize consecutive input channels of a row. */
  granularity: 'row' | 'group';
  groupSize?: number;
  /** Symmetric: s = max|w|/(2^(b−1)−1), q ∈ [−2^(b−1), 2^(b−1)−1]. Asymmetric: s = (max−min)/(2^b−1), zero point round(−min/s). */
  symmetric: boolean;
  /** QuaRot/GPTQ MSE clip search per scale unit: p = 1 − i/grid, i < maxShrink·grid, min Σ|err|^norm. */
  clipSearch?: { grid: number; maxShrink: number; norm: number };
}

export interface ActQuant {
  bits: number;
  /** 'token': one scale per row of the input; 'tensor': one scale per input matrix (per window). */
  granularity: 'token' | 'tensor';
  /** Symmetric only (s = clipRatio·max|x|/(2^(b−1)−1)). */
  clipRatio?: number;
}

/**
 * - 'hadamard': full random Hadamard (sign vector from the seed, then a Hadamard matrix of the
 *   full size: Sylvester 2^k or a Paley 12·2^k / 20·2^k Kronecker product), normalised;
 * - 'block-hadamard': block-diagonal, `block` × `block` random Hadamard blocks (one sign vector);
 * - 'orthogonal': Haar-random orthogonal matrix (QR of a Gaussian matrix with sign correction);
 * - 'adaptive': the seed study's rule: no rotation at layer 0; elsewhere block 512 when the size is a
 *   multiple of 512 larger than 512, else the full size.
 * One rotation per (layer, input): q/k/v share one (they share their input), gate/up share one, o
 * and down each have their own; all drawn from Rng(seed).fork(`L<layer>.<input>`).
 */
export interface RotationChoice {
  kind: 'hadamard' | 'block-hadamard' | 'orthogonal' | 'adaptive';
  block?: number;
  seed: number;
}

const W4_ROW: WeightQuant = { bits: 4, granularity: 'row', symmetric: true };
const A4_TOKEN: ActQuant = { bits: 4, granularity: 'token' };

/** Base recipe names (before the ':w-only' / ':a-only' and '+kv4' modifiers). */
export const BASE_RECIPES = [
  'fp',
  'w4a16-rtn-g128',
  'w8a8-rtn',
  'w4a4-rtn-token',
  'w4a4-rtn-tensor',
  'had-w4a4',
  'bhad<b>-w4a4',
  'ro-w4a4',
  'adaptive-w4a4',
  'quarot-w4a4',
] as const;

function base(name: string, seed: number): Omit<RecipeSpec, 'name' | 'version' | 'kv'> | null {
  const none = { weights: null, activations: null, rotation: null, quarot: null };
  switch (name) {
    case 'fp':
      return none;
    case 'w4a16-rtn-g128':
      return { ...none, weights: { bits: 4, granularity: 'group', groupSize: 128, symmetric: false } };
    case 'w8a8-rtn':
      return {
        ...none,
        weights: { bits: 8, granularity: 'row', symmetric: true },
        activations: { bits: 8, granularity: 'token' },
      };
    case 'w4a4-rtn-token':
      return { ...none, weights: W4_ROW, activations: A4_TOKEN };
    case 'w4a4-rtn-tensor':
      return { ...none, weights: W4_ROW, activations: { bits: 4, granularity: 'tensor' } };
    case 'had-w4a4':
      return { ...none, weights: W4_ROW, activations: A4_TOKEN, rotation: { kind: 'hadamard', seed } };
    case 'ro-w4a4':
      return { ...none, weights: W4_ROW, activations: A4_TOKEN, rotation: { kind: 'orthogonal', seed } };
    case 'adaptive-w4a4':
      return { ...none, weights: W4_ROW, activations: A4_TOKEN, rotation: { kind: 'adaptive', seed } };
    case 'quarot-w4a4':
      return {
        ...none,
        weights: {
          bits: 4,
          granularity: 'row',
          symmetric: true,
          clipSearch: { grid: 100, maxShrink: 0.8, norm: 2.4 },
        },
        activations: { bits: 4, granularity: 'token', clipRatio: 0.9 },
        quarot: { seed },
      };
  }
  const m = /^bhad(\d+)-w4a4$/.exec(name);
  if (m)
    return {
      ...none,
      weights: W4_ROW,
      activations: A4_TOKEN,
      rotation: { kind: 'block-hadamard', block: Number(m[1]), seed },
    };
  return null;
}

/**
 * Resolves a recipe name to its spec: a base name from BASE_RECIPES, optionally ':w-only' (drop the
 * activation quantizer) or ':a-only' (drop the weight quantizer) for the W4A4 recipes, optionally
 * '+kv4' (4-bit KV cache). `seed` seeds every rotation.
 */
export function recipeFromName(name: string, seed = 0): RecipeSpec {
  let rest = name.trim();
  let kv: RecipeSpec['kv'] = null;
  if (rest.endsWith('+kv4')) {
    kv = { bits: 4 };
    rest = rest.slice(0, -4);
  }
  let half: 'w-only' | 'a-only' | null = null;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    const suffix = rest.slice(colon + 1);
    if (suffix !== 'w-only' && suffix !== 'a-only') {
      throw new NqInputError(
        'recipe',
        `has unknown modifier ':${suffix}'`,
        "Use ':w-only' or ':a-only' (W4A4 recipes only), optionally followed by '+kv4'.",
      );
    }
    half = suffix;
    rest = rest.slice(0, colon);
  }
  const b = base(rest, seed);
  if (!b) {
    throw new NqInputError(
      'recipe',
      `'${name}' is not a known recipe`,
      `Use one of ${BASE_RECIPES.join(', ')} (<b> a block size, e.g. bhad64-w4a4), with optional ':w-only'/':a-only' and '+kv4', or pass a JSON spec.`,
    );
  }
  if (half && !rest.includes('w4a4')) {
    throw new NqInputError(
      'recipe',
      `':${half}' applies to W4A4 recipes only, got '${rest}'`,
      'Drop the modifier or use a *-w4a4 recipe.',
    );
  }
  const spec: RecipeSpec = { version: 1, name: name.trim(), ...b, kv };
  if (half === 'w-only') spec.activations = null;
  if (half === 'a-only') spec.weights = null;
  return validateRecipe(spec);
}

/** Validates a recipe spec (e.g. parsed from a user's JSON file); returns it when valid. */
export function validateRecipe(spec: unknown): RecipeSpec {
  const bad = (what: string, fix: string): never => {
    throw new NqInputError('recipe', what, fix);
  };
  if (!spec || typeof spec !== 'object')
    bad('is not an object', 'Pass a recipe name or a RecipeSpec JSON object.');
  const s = spec as RecipeSpec;
  if (s.version !== 1) bad(`has version ${String(s.version)}`, 'Set "version": 1.');
  if (typeof s.name !== 'string' || !s.name) bad('has no name', 'Give the recipe a "name".');
  for (const k of ['weights', 'activations', 'rotation', 'quarot', 'kv'] as const) {
    if (!(k in s)) bad(`is missing "${k}"`, `Set "${k}" (null when unused).`);
  }
  const bitsOk = (b: unknown) => Number.isInteger(b) && (b as number) >= 2 && (b as number) <= 8;
  if (s.weights) {
    const w = s.weights;
    if (!bitsOk(w.bits)) bad(`weights.bits is ${w.bits}`, 'Use 2..8 bits.');
    if (w.granularity !== 'row' && w.granularity !== 'group')
      bad(`weights.granularity is ${w.granularity}`, "Use 'row' or 'group'.");
    if (w.granularity === 'group' && !(Number.isInteger(w.groupSize) && (w.groupSize as number) >= 1))
      bad(`weights.groupSize is ${w.groupSize}`, 'Give a positive integer group size.');
    if (typeof w.symmetric !== 'boolean') bad('weights.symmetric is not a boolean', 'Set true or false.');
    if (w.clipSearch) {
      const c = w.clipSearch;
      if (!(Number.isInteger(c.grid) && c.grid > 0 && c.maxShrink > 0 && c.maxShrink < 1 && c.norm > 0))
        bad('weights.clipSearch is invalid', 'Use e.g. { grid: 100, maxShrink: 0.8, norm: 2.4 }.');
    }
  }
  if (s.activations) {
    const a = s.activations;
    if (!bitsOk(a.bits)) bad(`activations.bits is ${a.bits}`, 'Use 2..8 bits.');
    if (a.granularity !== 'token' && a.granularity !== 'tensor')
      bad(`activations.granularity is ${a.granularity}`, "Use 'token' or 'tensor'.");
    if (a.clipRatio !== undefined && !(a.clipRatio > 0 && a.clipRatio <= 1))
      bad(`activations.clipRatio is ${a.clipRatio}`, 'Use 0 < clipRatio ≤ 1.');
  }
  if (s.rotation) {
    const r = s.rotation;
    if (!['hadamard', 'block-hadamard', 'orthogonal', 'adaptive'].includes(r.kind))
      bad(`rotation.kind is ${r.kind}`, "Use 'hadamard', 'block-hadamard', 'orthogonal' or 'adaptive'.");
    if (r.kind === 'block-hadamard' && !(Number.isInteger(r.block) && (r.block as number) >= 1))
      bad(`rotation.block is ${r.block}`, 'Give the block size, e.g. 64.');
    if (!Number.isInteger(r.seed) || r.seed < 0)
      bad(`rotation.seed is ${r.seed}`, 'Use a non-negative integer seed.');
  }
  if (s.quarot) {
    if (s.rotation)
      bad('sets both rotation and quarot', 'QuaRot brings its own rotations: set rotation to null.');
    if (!Number.isInteger(s.quarot.seed) || s.quarot.seed < 0)
      bad(`quarot.seed is ${s.quarot.seed}`, 'Use a non-negative integer seed.');
  }
  if (s.kv && !bitsOk(s.kv.bits)) bad(`kv.bits is ${s.kv.bits}`, 'Use 2..8 bits.');
  return s;
}

/** A recipe name or a JSON spec (object or JSON text) → validated spec. */
export function resolveRecipe(recipe: string | RecipeSpec, seed = 0): RecipeSpec {
  if (typeof recipe === 'string') {
    const t = recipe.trim();
    if (t.startsWith('{')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(t);
      } catch (e) {
        throw new NqInputError('recipe', 'looks like JSON but does not parse', 'Fix the JSON text.', {
          cause: e,
        });
      }
      return validateRecipe(parsed);
    }
    return recipeFromName(t, seed);
  }
  return validateRecipe(recipe);
}
