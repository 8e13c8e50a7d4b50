import { NqInputError, NqUnsupportedError } from '@nq/core';

/**
 * QuantSpec: the one JSON description of a quantizer that every nq package consumes (eval recipes,
 * GPTQ's inner quantizer, search, benchmarks). It is plain data so a sweep can store it verbatim
 * beside each result. Validate it at the boundary with `parseQuantSpec`, which fills the defaults
 * and returns a `ResolvedQuantSpec` (every field present) — the only form the kernels accept.
 *
 * Formats:
 *  - 'int'      : INT-b (b = 2..8), symmetric or asymmetric, any granularity (this package).
 *  - 'fp8_e4m3' : FP8 E4M3 (max 448, no inf), one FP32 scale amax/448 per granularity unit (@nq/quant-fp).
 *  - 'fp8_e5m2' : FP8 E5M2 (max 57344, has inf), one FP32 scale amax/57344 per unit (@nq/quant-fp).
 *  - 'nvfp4'    : E2M1 values, one E4M3 scale per 16 consecutive elements of a row and one FP32
 *                 global scale per tensor (@nq/quant-fp). Granularity is fixed: group of 16.
 *  - 'mxfp4'    : E2M1 values, one E8M0 (power-of-two) scale per 32 consecutive elements of a row
 *                 (OCP MX v1.0) (@nq/quant-fp). Granularity is fixed: group of 32.
 *
 * Granularity (where one scale applies), for a matrix rows × cols:
 *  - 'tensor'  : one scale for the whole matrix;
 *  - 'token'   : one scale per row (activations: per token; weights out × in: per output channel);
 *  - 'channel' : one scale per column;
 *  - 'group'   : one scale per `groupSize` consecutive elements of a row (groupSize must divide cols).
 */
export const QUANT_SPEC_VERSION = 1 as const;

export type QuantFormat = 'int' | 'fp8_e4m3' | 'fp8_e5m2' | 'nvfp4' | 'mxfp4';
export type Granularity = 'tensor' | 'token' | 'channel' | 'group';

export const QUANT_FORMATS: readonly QuantFormat[] = ['int', 'fp8_e4m3', 'fp8_e5m2', 'nvfp4', 'mxfp4'];
export const GRANULARITIES: readonly Granularity[] = ['tensor', 'token', 'channel', 'group'];

/**
 * MSE-optimal clipping as QuaRot/GPTQ's weight quantizer does it: for each scale unit try the ranges
 * p·[min, max] for p = 1 − i/grid, i = 0 .. ⌊maxShrink·grid⌋ − 1, and keep the p with the smallest
 * Σ|fq(x) − x|^norm over the unit (ties keep the larger p). Defaults are QuaRot's (grid 100,
 * maxShrink 0.8, norm 2.4). When clipSearch is given, clipRatio is ignored.
 */
export interface ClipSearch {
  grid?: number;
  maxShrink?: number;
  norm?: number;
}

/** The JSON form users write. Everything but `format` has a default. */
export interface QuantSpec {
  /** Spec version; omitted means the current one (1). */
  version?: number;
  format: QuantFormat;
  /** INT bits, 2..8 (default 4). Only for format 'int'. */
  bits?: number;
  /** Default 'group' (128) for int, 'tensor' for fp8, forced 'group' for nvfp4 (16) / mxfp4 (32). */
  granularity?: Granularity;
  /** Group size for granularity 'group' (default 128 for int/fp8, 16 for nvfp4, 32 for mxfp4). */
  groupSize?: number;
  /** Symmetric (default true). Asymmetric is only defined for 'int'. */
  symmetric?: boolean;
  /** Scale the range by this factor before computing scales (0 < clipRatio ≤ 1, default 1). */
  clipRatio?: number;
  /** Per-unit MSE-optimal clip search; `true` means QuaRot's defaults. */
  clipSearch?: ClipSearch | boolean;
}

/** A validated spec with every field filled in. */
export interface ResolvedQuantSpec {
  version: typeof QUANT_SPEC_VERSION;
  format: QuantFormat;
  /** For fp formats: the element bits (8 for fp8, 4 for nvfp4/mxfp4), informational. */
  bits: number;
  granularity: Granularity;
  /** The group size; for non-group granularities it is 0. */
  groupSize: number;
  symmetric: boolean;
  clipRatio: number;
  clipSearch: Required<ClipSearch> | null;
}

export const DEFAULT_CLIP_SEARCH: Required<ClipSearch> = { grid: 100, maxShrink: 0.8, norm: 2.4 };

const KNOWN_KEYS = new Set([
  'version',
  'format',
  'bits',
  'granularity',
  'groupSize',
  'symmetric',
  'clipRatio',
  'clipSearch',
]);

/**
 * Validates a QuantSpec (e.g. parsed from JSON) and fills its defaults. Throws NqInputError naming
 * the field and the fix; NqUnsupportedError for combinations nq does not implement.
 */
export function parseQuantSpec(input: unknown, name = 'spec'): ResolvedQuantSpec {
  if (!input || typeof input !== 'object' || Array.isArray(input)) {
    throw new NqInputError(
      name,
      `must be an object like { "format": "int", "bits": 4 }, got ${JSON.stringify(input)}`,
      'Pass a QuantSpec object.',
    );
  }
  const s = input as Record<string, unknown>;
  for (const k of Object.keys(s)) {
    if (!KNOWN_KEYS.has(k))
      throw new NqInputError(
        `${name}.${k}`,
        'is not a QuantSpec field',
        `Use only ${[...KNOWN_KEYS].join(', ')}.`,
      );
  }
  const version = s.version ?? QUANT_SPEC_VERSION;
  if (version !== QUANT_SPEC_VERSION) {
    throw new NqUnsupportedError(
      `${name}.version ${JSON.stringify(version)}`,
      `This @nq/quant-int4 reads QuantSpec version ${QUANT_SPEC_VERSION}.`,
    );
  }
  const format = s.format as QuantFormat;
  if (!QUANT_FORMATS.includes(format)) {
    throw new NqInputError(
      `${name}.format`,
      `must be one of ${QUANT_FORMATS.join(', ')}, got ${JSON.stringify(s.format)}`,
      'Set format to a supported number format.',
    );
  }
  const isInt = format === 'int';

  // bits
  let bits: number;
  if (isInt) {
    bits = s.bits === undefined ? 4 : (s.bits as number);
    if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < 2 || bits > 8) {
      throw new NqInputError(
        `${name}.bits`,
        `must be an integer in 2..8 for format "int", got ${JSON.stringify(s.bits)}`,
        'Use 4 for INT4 or 8 for INT8.',
      );
    }
  } else {
    bits = format === 'nvfp4' || format === 'mxfp4' ? 4 : 8;
    if (s.bits !== undefined && s.bits !== bits) {
      throw new NqInputError(
        `${name}.bits`,
        `is fixed at ${bits} for format "${format}", got ${JSON.stringify(s.bits)}`,
        'Omit bits for floating-point formats.',
      );
    }
  }

  // symmetric
  const symmetric = s.symmetric === undefined ? true : s.symmetric;
  if (typeof symmetric !== 'boolean') {
    throw new NqInputError(
      `${name}.symmetric`,
      `must be true or false, got ${JSON.stringify(s.symmetric)}`,
      'Set symmetric to a boolean.',
    );
  }
  if (!isInt && !symmetric) {
    throw new NqUnsupportedError(
      `asymmetric ${format}`,
      'Floating-point formats are symmetric (sign bit); use format "int" for asymmetric quantization.',
    );
  }

  // granularity + groupSize
  const fixedGroup = format === 'nvfp4' ? 16 : format === 'mxfp4' ? 32 : 0;
  const granularity = (s.granularity ?? (fixedGroup ? 'group' : isInt ? 'group' : 'tensor')) as Granularity;
  if (!GRANULARITIES.includes(granularity)) {
    throw new NqInputError(
      `${name}.granularity`,
      `must be one of ${GRANULARITIES.join(', ')}, got ${JSON.stringify(s.granularity)}`,
      'Pick where one scale applies.',
    );
  }
  let groupSize = 0;
  if (fixedGroup) {
    if (granularity !== 'group' || (s.groupSize !== undefined && s.groupSize !== fixedGroup)) {
      throw new NqInputError(
        `${name}.granularity`,
        `${format} always uses one scale per group of ${fixedGroup} (got ${granularity}${s.groupSize !== undefined ? ` ${s.groupSize}` : ''})`,
        `Omit granularity/groupSize or set { "granularity": "group", "groupSize": ${fixedGroup} }.`,
      );
    }
    groupSize = fixedGroup;
  } else if (granularity === 'group') {
    groupSize = s.groupSize === undefined ? 128 : (s.groupSize as number);
    if (typeof groupSize !== 'number' || !Number.isInteger(groupSize) || groupSize < 1) {
      throw new NqInputError(
        `${name}.groupSize`,
        `must be a positive integer, got ${JSON.stringify(s.groupSize)}`,
        'Use e.g. 32, 64 or 128.',
      );
    }
  } else if (s.groupSize !== undefined && s.groupSize !== 0) {
    throw new NqInputError(
      `${name}.groupSize`,
      `only applies to granularity "group" (granularity is "${granularity}")`,
      'Remove groupSize or set granularity to "group".',
    );
  }

  // clipping
  const clipRatio = s.clipRatio === undefined ? 1 : s.clipRatio;
  if (typeof clipRatio !== 'number' || !(clipRatio > 0 && clipRatio <= 1)) {
    throw new NqInputError(
      `${name}.clipRatio`,
      `must be a number in (0, 1], got ${JSON.stringify(s.clipRatio)}`,
      'Use 1 for no clipping, e.g. 0.9 to clip the range by 10%.',
    );
  }
  let clipSearch: Required<ClipSearch> | null = null;
  if (s.clipSearch !== undefined && s.clipSearch !== null && s.clipSearch !== false) {
    if (format === 'nvfp4' || format === 'mxfp4') {
      throw new NqUnsupportedError(
        `clipSearch with ${format}`,
        'Clip search is implemented for int and fp8 formats.',
      );
    }
    const c = s.clipSearch === true ? {} : s.clipSearch;
    if (!c || typeof c !== 'object' || Array.isArray(c)) {
      throw new NqInputError(
        `${name}.clipSearch`,
        `must be true or { grid, maxShrink, norm }, got ${JSON.stringify(s.clipSearch)}`,
        'Use true for QuaRot defaults.',
      );
    }
    const cs = c as Record<string, unknown>;
    for (const k of Object.keys(cs)) {
      if (!(k in DEFAULT_CLIP_SEARCH))
        throw new NqInputError(
          `${name}.clipSearch.${k}`,
          'is not a clipSearch field',
          'Use grid, maxShrink, norm.',
        );
    }
    const grid = cs.grid ?? DEFAULT_CLIP_SEARCH.grid;
    const maxShrink = cs.maxShrink ?? DEFAULT_CLIP_SEARCH.maxShrink;
    const norm = cs.norm ?? DEFAULT_CLIP_SEARCH.norm;
    if (typeof grid !== 'number' || !Number.isInteger(grid) || grid < 1 || grid > 10000) {
      throw new NqInputError(
        `${name}.clipSearch.grid`,
        `must be an integer in 1..10000, got ${JSON.stringify(grid)}`,
        'QuaRot uses 100.',
      );
    }
    if (typeof maxShrink !== 'number' || !(maxShrink > 0 && maxShrink < 1)) {
      throw new NqInputError(
        `${name}.clipSearch.maxShrink`,
        `must be in (0, 1), got ${JSON.stringify(maxShrink)}`,
        'QuaRot uses 0.8 (ratios 1.0 down to 0.21).',
      );
    }
    if (typeof norm !== 'number' || !(norm > 0 && Number.isFinite(norm))) {
      throw new NqInputError(
        `${name}.clipSearch.norm`,
        `must be a positive number, got ${JSON.stringify(norm)}`,
        'Use 2 for MSE, 2.4 as QuaRot.',
      );
    }
    if (Math.floor(maxShrink * grid) < 1) {
      throw new NqInputError(
        `${name}.clipSearch`,
        `grid·maxShrink = ${grid * maxShrink} tries no ratio`,
        'Make grid·maxShrink at least 1.',
      );
    }
    clipSearch = { grid, maxShrink, norm };
  }
  return {
    version: QUANT_SPEC_VERSION,
    format,
    bits,
    granularity,
    groupSize,
    symmetric,
    clipRatio,
    clipSearch,
  };
}

/** The clip ratios a clip search tries, largest first. */
export function clipSearchRatios(c: Required<ClipSearch>): Float64Array {
  const n = Math.floor(c.maxShrink * c.grid);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = 1 - i / c.grid;
  return out;
}

/** Accepts a spec in either form (the kernels call this; cheap when already resolved). */
export function resolveSpec(spec: QuantSpec | ResolvedQuantSpec, name = 'spec'): ResolvedQuantSpec {
  return parseQuantSpec(spec, name);
}
