import { NqInputError, NqUnsupportedError } from '@nq/core';
import { assertSupportedSize, hadamardMatrix } from './construct/orders.js';

/**
 * RotationSpec — the one JSON description of a rotation R (dim × dim, orthogonal) that every nq
 * package stores and passes around. R is a cascade R = R_1 · R_2 · … · R_k; a row vector is rotated
 * as x ↦ x·R (stage 1 first). Every stage is block-diagonal with `dim / block` blocks:
 *
 *  - `hadamard`:   R_s = D · blockdiag(H_b, …, H_b) / √b, D = diag(signs) (±1, applied first; omitted
 *                  = all +1). H_b = H_m ⊗ H_p: p a power of two (Sylvester, natural order) and m the
 *                  base order of b (1, or a Paley/Williamson/Cooper–Wallis order; see blockFactors).
 *  - `orthogonal`: R_s = blockdiag(Q_0, …, Q_{dim/b−1}), `matrices` = the blocks' entries, row-major,
 *                  block after block (dim·b numbers). Learned or random orthogonal rotations.
 *
 * Weights (out × in, Y = X·Wᵀ) rotate the same way, W ↦ W·R, so (x·R)(W·R)ᵀ = x·Wᵀ.
 * Arrays may be plain number[] (as parsed from JSON) or Float32Array (as built in memory);
 * `serializeRotationSpec` / `parseRotationSpec` round-trip both through JSON text.
 */
export type Numbers = number[] | Float32Array;

export interface HadamardStage {
  kind: 'hadamard';
  /** Block size: a power of two or m·2^k (m a supported Hadamard order), dividing dim. */
  block: number;
  /** Optional ±1 per channel (length dim), applied before the transform. */
  signs?: Numbers;
}

export interface OrthogonalStage {
  kind: 'orthogonal';
  /** Block size, dividing dim. */
  block: number;
  /** dim/block orthogonal block×block matrices, row-major, concatenated (length dim·block). */
  matrices: Numbers;
}

export type RotationStage = HadamardStage | OrthogonalStage;

export interface RotationSpec {
  version: 1;
  dim: number;
  /** 1..MAX_STAGES stages, applied in order. */
  stages: RotationStage[];
  /** Free-form provenance (generator, seed, …); carried along verbatim, never interpreted. */
  meta?: Record<string, unknown>;
}

export const ROTATION_SPEC_VERSION = 1;
export const MAX_STAGES = 16;
/** Orthogonality tolerance for `orthogonal` blocks: max |Q·Qᵀ − I| entry checked at validation. */
export const ORTHOGONAL_TOLERANCE = 1e-4;

/** A validated spec prepared for the kernels (shared by every backend). */
export interface CompiledStage {
  kind: 'hadamard' | 'orthogonal';
  block: number;
  /** hadamard: block = m · p. */
  m: number;
  p: number;
  /** hadamard: the m×m ±1 base matrix as float32 (null when m = 1). */
  hm: Float32Array | null;
  /** hadamard: 1/√block. */
  scale: number;
  /** hadamard: ±1 per channel, or null. */
  signs: Float32Array | null;
  /** orthogonal: dim·block entries. */
  matrices: Float32Array | null;
}

export interface CompiledRotation {
  dim: number;
  stages: CompiledStage[];
  spec: RotationSpec;
}

const compiled = new WeakMap<object, CompiledRotation>();

/**
 * Validates a spec (typed errors naming the offending field) and prepares it for the kernels.
 * Compiled once per spec object: treat a spec as immutable after its first use.
 */
export function compileRotation(spec: RotationSpec, name = 'spec'): CompiledRotation {
  if (spec && typeof spec === 'object') {
    const hit = compiled.get(spec);
    if (hit) return hit;
  }
  validateRotationSpec(spec, name);
  const stages = spec.stages.map((st): CompiledStage => {
    if (st.kind === 'hadamard') {
      const { m, p } = assertSupportedSize(st.block, `${name}.stages[].block`);
      return {
        kind: 'hadamard',
        block: st.block,
        m,
        p,
        hm: m > 1 ? Float32Array.from(hadamardMatrix(m)) : null,
        scale: 1 / Math.sqrt(st.block),
        signs: st.signs ? Float32Array.from(st.signs) : null,
        matrices: null,
      };
    }
    return {
      kind: 'orthogonal',
      block: st.block,
      m: 1,
      p: st.block,
      hm: null,
      scale: 1,
      signs: null,
      matrices: st.matrices instanceof Float32Array ? st.matrices : Float32Array.from(st.matrices),
    };
  });
  const c: CompiledRotation = { dim: spec.dim, stages, spec };
  compiled.set(spec, c);
  return c;
}

const isNumbers = (v: unknown): v is Numbers => Array.isArray(v) || v instanceof Float32Array;

/** Throws a typed error unless `spec` is a valid version-1 RotationSpec. Returns it, typed. */
export function validateRotationSpec(spec: unknown, name = 'spec'): RotationSpec {
  const s = spec as RotationSpec;
  if (!s || typeof s !== 'object') {
    throw new NqInputError(
      name,
      'is not a RotationSpec object',
      'Build one with randomHadamard(), blockHadamard(), randomOrthogonal() or identity().',
    );
  }
  if (s.version !== ROTATION_SPEC_VERSION) {
    throw new NqUnsupportedError(
      `${name}.version = ${JSON.stringify(s.version)}`,
      `This @nq/hadamard reads RotationSpec version ${ROTATION_SPEC_VERSION}.`,
    );
  }
  if (!Number.isInteger(s.dim) || s.dim < 1) {
    throw new NqInputError(
      `${name}.dim`,
      `must be a positive integer, got ${JSON.stringify(s.dim)}`,
      'Set dim to the number of channels the rotation acts on.',
    );
  }
  if (!Array.isArray(s.stages) || s.stages.length < 1 || s.stages.length > MAX_STAGES) {
    throw new NqInputError(
      `${name}.stages`,
      `must be an array of 1..${MAX_STAGES} stages`,
      'Use identity(dim) for no rotation; cascade() joins specs.',
    );
  }
  s.stages.forEach((st, i) => {
    validateStage(st, s.dim, `${name}.stages[${i}]`);
  });
  return s;
}

function validateStage(st: RotationStage, dim: number, name: string): void {
  if (!st || typeof st !== 'object')
    throw new NqInputError(
      name,
      'is not a stage object',
      "Use { kind: 'hadamard', block, signs? } or { kind: 'orthogonal', block, matrices }.",
    );
  const b = st.block;
  if (!Number.isInteger(b) || b < 1 || dim % b !== 0) {
    throw new NqInputError(
      `${name}.block`,
      `must be a positive integer dividing dim = ${dim}, got ${JSON.stringify(b)}`,
      'Pick a block size that divides the dimension (block = dim for a full rotation).',
    );
  }
  if (st.kind === 'hadamard') {
    assertSupportedSize(b, `${name}.block`);
    if (st.signs !== undefined) {
      if (!isNumbers(st.signs))
        throw new NqInputError(
          `${name}.signs`,
          'is not an array of numbers',
          'Pass dim values of +1 or −1, or omit signs.',
        );
      if (st.signs.length !== dim) {
        throw new NqInputError(
          `${name}.signs`,
          `has length ${st.signs.length} but dim is ${dim}`,
          'Pass exactly one ±1 per channel (Rng.signs(dim)).',
        );
      }
      for (let i = 0; i < dim; i++) {
        const v = st.signs[i];
        if (v !== 1 && v !== -1)
          throw new NqInputError(
            `${name}.signs`,
            `has ${v} at index ${i}`,
            'Every sign must be exactly +1 or −1.',
          );
      }
    }
    return;
  }
  if (st.kind === 'orthogonal') {
    const mats = st.matrices;
    if (!isNumbers(mats))
      throw new NqInputError(
        `${name}.matrices`,
        'is not an array of numbers',
        'Pass dim·block numbers: the orthogonal blocks, row-major, one after another.',
      );
    if (mats.length !== dim * b) {
      throw new NqInputError(
        `${name}.matrices`,
        `has ${mats.length} numbers but dim·block = ${dim * b}`,
        'Pass dim/block orthogonal block×block matrices, row-major, concatenated.',
      );
    }
    for (let i = 0; i < mats.length; i++) {
      const v = mats[i]!;
      if (typeof v !== 'number' || v - v !== 0) {
        throw new NqInputError(
          `${name}.matrices`,
          `has ${v} at index ${i}`,
          'Orthogonal blocks must be finite numbers.',
        );
      }
    }
    checkOrthogonalBlocks(mats, dim, b, name);
    return;
  }
  throw new NqInputError(
    `${name}.kind`,
    `is ${JSON.stringify((st as { kind?: unknown }).kind)}`,
    "Use 'hadamard' or 'orthogonal'.",
  );
}

/**
 * Checks Q·Qᵀ ≈ I for every block: fully when the cost is small (dim·b² ≤ 2^26), otherwise every
 * row's norm plus 64 pseudo-random row pairs per block (a full check of a 4096² block is 68 GFLOP).
 */
function checkOrthogonalBlocks(mats: Numbers, dim: number, b: number, name: string): void {
  const full = dim * b * b <= 1 << 26;
  const dot = (base: number, i: number, j: number): number => {
    let s = 0;
    for (let t = 0; t < b; t++) s += mats[base + i * b + t]! * mats[base + j * b + t]!;
    return s;
  };
  const fail = (blk: number, i: number, j: number, v: number) => {
    throw new NqInputError(
      `${name}.matrices`,
      `block ${blk} is not orthogonal: (Q·Qᵀ)[${i}][${j}] = ${v.toPrecision(6)} (tolerance ${ORTHOGONAL_TOLERANCE})`,
      'Orthonormalize the blocks (e.g. QR or polar decomposition) before building the spec.',
    );
  };
  let lcg = 12345;
  for (let blk = 0; blk < dim / b; blk++) {
    const base = blk * b * b;
    for (let i = 0; i < b; i++) {
      const d = dot(base, i, i);
      if (Math.abs(d - 1) > ORTHOGONAL_TOLERANCE) fail(blk, i, i, d);
      if (full) {
        for (let j = i + 1; j < b; j++) {
          const o = dot(base, i, j);
          if (Math.abs(o) > ORTHOGONAL_TOLERANCE) fail(blk, i, j, o);
        }
      }
    }
    if (!full) {
      for (let t = 0; t < 64; t++) {
        lcg = (Math.imul(lcg, 1103515245) + 12345) >>> 0;
        const i = lcg % b;
        const j = (i + 1 + ((lcg >>> 8) % (b - 1))) % b;
        const o = dot(base, i, j);
        if (Math.abs(o) > ORTHOGONAL_TOLERANCE) fail(blk, i, j, o);
      }
    }
  }
}

/** JSON text of a spec (typed arrays written as plain arrays). */
export function serializeRotationSpec(spec: RotationSpec): string {
  validateRotationSpec(spec);
  return JSON.stringify(spec, (_k, v) => (v instanceof Float32Array ? Array.from(v) : v));
}

/** Parses and validates JSON text (or an already-parsed object) into a RotationSpec. */
export function parseRotationSpec(json: string | unknown, name = 'spec'): RotationSpec {
  let obj: unknown = json;
  if (typeof json === 'string') {
    try {
      obj = JSON.parse(json);
    } catch (e) {
      throw new NqInputError(
        name,
        `is not valid JSON (${(e as Error).message})`,
        'Pass the text written by serializeRotationSpec().',
        { cause: e },
      );
    }
  }
  return validateRotationSpec(obj, name);
}
