import { NqInputError } from '@nq/core';

/**
 * The model-level recipe catalog: every technique in nq as a name a sweep's `model.recipes` list may
 * use. A name is parsed here into a plain-JSON `ModelMethod` (no package is loaded to parse it, so a
 * sweep file is validated at load time); `model-build.ts` turns it into a candidate model through the
 * technique packages' public APIs, `model-bits.ts` counts its bits per parameter.
 *
 * Grammar (MODEL_RECIPES_HELP lists it for error messages):
 *   recipe  := [rescale '+'] base (';' option)*
 *   rescale := smoothquant-a<α> | hdiag-a<α> | awq                 (@nq/rescale, folded first)
 *   base    := <any @nq/eval-ppl recipe>      fp, w4a16-rtn-g128, w8a8-rtn, w4a4-rtn-token, had-w4a4, quarot-w4a4, …
 *            | rtn-w<b>a16-(g<g>|pc)           INT<b> asymmetric RTN per group of g input channels / per output channel
 *            | gptq-w<b>a16-(g<g>|pc)          the same format with GPTQ (@nq/gptq, sequential, docs-calib)
 *            | quarot-w4a4-gptq                QuaRot W4A4 (eval-ppl's transform) with GPTQ weights
 *            | <codec>-w4a4[-int4|-nvfp4][-gptq]   @nq/rotation-opt plans; codec ∈ norot, rh1, ro1, dfrot, adacodec
 *            | turboquant-w<b>[-g<g>][-fitted][-mse|-nocorr]   @nq/turboquant RTN
 *            | turboquant-gptq-w<b>[-g<g>]     GPTQ with the TurboQuant inner quantizer
 *            | q8_0 | q4_k_m                   @nq/kquants llama.cpp recipes (embeddings and classifier too)
 *            | gguf-<type>                     every 2-D tensor in one ggml type: q4_0 q4_1 q5_0 q5_1 q8_0 q4_k q5_k q6_k
 *            | llamacpp-q8_0 | llamacpp-q4_k_m the GGUF files llama.cpp's llama-quantize wrote beside the model
 *            | mixed-<role><w>(-<role><w>)*-rest<w>   per tensor role; w = 2..8 (INT asym g128 RTN), f16, q8_0
 *            | kv-(k|v|kv)<b>                  full-precision weights; K and/or V cache rows b-bit per head and token
 *   option  := calib=<N>x<L>   calibration: N sequences of L tokens of docs-calib (default 16x256)
 *            | act-order       GPTQ act-order (columns by descending diag H)
 */

export type LinearRole = 'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down';
export const ROLES: readonly LinearRole[] = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'];

/** Storage of one role's weights in a mixed recipe. */
export type RoleFormat = { kind: 'int'; bits: number } | { kind: 'f16' } | { kind: 'q8_0' };

export const GGUF_TYPES = ['q4_0', 'q4_1', 'q5_0', 'q5_1', 'q8_0', 'q4_k', 'q5_k', 'q6_k'] as const;
export type CodecName = 'norot' | 'rh1' | 'ro1' | 'dfrot' | 'adacodec';
export const CODECS: readonly CodecName[] = ['norot', 'rh1', 'ro1', 'dfrot', 'adacodec'];

export type BaseMethod =
  /** An @nq/eval-ppl recipe name (validated by eval-ppl's own parser at load time). */
  | { kind: 'eval'; recipe: string }
  /** INT asymmetric weights, RTN or GPTQ; group null = per output channel. */
  | { kind: 'int'; method: 'rtn' | 'gptq'; bits: number; group: number | null }
  | { kind: 'quarot-gptq' }
  | { kind: 'codec'; codec: CodecName; format: 'int4' | 'nvfp4'; weights: 'rtn' | 'gptq' }
  | {
      kind: 'turboquant';
      method: 'rtn' | 'gptq';
      bits: number;
      group: number;
      codebook: 'sphere' | 'fitted';
      correction: 'norm' | 'mse' | 'none';
    }
  | { kind: 'kquant'; recipe: 'q8_0' | 'q4_k_m' }
  | { kind: 'gguf-type'; type: (typeof GGUF_TYPES)[number] }
  | { kind: 'llamacpp-file'; recipe: 'q8_0' | 'q4_k_m' }
  | { kind: 'mixed'; roles: Partial<Record<LinearRole, RoleFormat>>; rest: RoleFormat }
  | { kind: 'kv'; side: 'k' | 'v' | 'kv'; bits: number };

export interface RescaleChoice {
  rule: 'smoothquant' | 'hdiag' | 'awq';
  /** Exponent α (SmoothQuant, H_ii^α); AWQ searches its own per layer and input. */
  alpha?: number;
}

export interface ModelMethod {
  v: 1;
  /** The name as written (trimmed). */
  name: string;
  rescale: RescaleChoice | null;
  base: BaseMethod;
  /** Calibration sequences × tokens of docs-calib, for methods that calibrate (else null). */
  calib: { sequences: number; ctx: number } | null;
  actOrder: boolean;
  /**
   * The number format, without the method or its options: rows with the same format and different
   * methods are the pairs a verdict compares (e.g. rtn-w4a16-g128 and gptq-w4a16-g128: w4a16-g128).
   */
  format: string;
}

export const DEFAULT_CALIB = { sequences: 16, ctx: 256 } as const;

export const MODEL_RECIPES_HELP = [
  'any @nq/eval-ppl recipe (fp, w4a16-rtn-g128, w8a8-rtn, w4a4-rtn-token, w4a4-rtn-tensor, had-w4a4, bhad<b>-w4a4, ro-w4a4, adaptive-w4a4, quarot-w4a4, with :w-only / :a-only / +kv4)',
  'rtn-w<b>a16-g<g> | rtn-w<b>a16-pc (INT<b> asym RTN, b 2–8)',
  'gptq-w<b>a16-g<g> | gptq-w<b>a16-pc',
  'quarot-w4a4-gptq',
  '<codec>-w4a4[-int4|-nvfp4][-gptq] with codec norot | rh1 | ro1 | dfrot | adacodec',
  'turboquant-w<b>[-g<g>][-fitted][-mse|-nocorr] | turboquant-gptq-w<b>[-g<g>]',
  'q8_0 | q4_k_m | gguf-<q4_0|q4_1|q5_0|q5_1|q8_0|q4_k|q5_k|q6_k> | llamacpp-q8_0 | llamacpp-q4_k_m',
  'mixed-<role><w>(-<role><w>)*-rest<w> (role q k v o gate up down; w 2–8, f16 or q8_0; e.g. mixed-k8-rest4)',
  'kv-k<b> | kv-v<b> | kv-kv<b>',
  'prefix smoothquant-a<α>+ | hdiag-a<α>+ | awq+ before rtn/gptq/turboquant/mixed/kquant/eval recipes',
  'options ;calib=<N>x<L> (default 16x256) ;act-order',
].join('; ');

function bad(name: string, why: string): never {
  throw new NqInputError(
    'recipe',
    `'${name}' ${why}`,
    `Use one of: ${MODEL_RECIPES_HELP}. See apps/harness/README.md "Model recipes".`,
  );
}

const bitsOk = (b: number) => Number.isInteger(b) && b >= 2 && b <= 8;
const isPow2 = (n: number) => Number.isInteger(n) && n >= 2 && (n & (n - 1)) === 0;

function parseRoleFormat(s: string, name: string): RoleFormat {
  if (s === 'f16') return { kind: 'f16' };
  if (s === 'q8_0') return { kind: 'q8_0' };
  if (/^\d$/.test(s) && bitsOk(Number(s))) return { kind: 'int', bits: Number(s) };
  return bad(name, `has role width '${s}': use 2–8 (INT asym g128), f16 or q8_0`);
}

const roleFormatLabel = (f: RoleFormat) => (f.kind === 'int' ? String(f.bits) : f.kind);

function parseMixed(body: string, name: string): BaseMethod {
  const parts = body.split('-');
  const roles: Partial<Record<LinearRole, RoleFormat>> = {};
  let rest: RoleFormat | null = null;
  for (const p of parts) {
    // Longest role name first so that 'gate8' is not read as 'g' + 'ate8'.
    const role = ['rest', 'gate', 'down', 'up', 'q', 'k', 'v', 'o'].find((r) => p.startsWith(r));
    if (!role || p.length === role.length) bad(name, `has part '${p}': write <role><width>, e.g. k8`);
    const fmt = parseRoleFormat(p.slice(role.length), name);
    if (role === 'rest') rest = fmt;
    else {
      if (roles[role as LinearRole]) bad(name, `sets role ${role} twice`);
      roles[role as LinearRole] = fmt;
    }
  }
  if (!rest) bad(name, 'has no rest<w> part (the width of every role not named)');
  if (Object.keys(roles).length === 0) bad(name, 'names no role (use rtn-w<b>a16-g128 for one width)');
  return { kind: 'mixed', roles, rest };
}

/** Parses the base part (no rescale prefix, no options). Returns null when no grammar rule matches. */
function parseBase(s: string, name: string): BaseMethod | null {
  let m = /^(rtn|gptq)-w(\d)a16-(?:g(\d+)|(pc))$/.exec(s);
  if (m) {
    const bits = Number(m[2]);
    if (!bitsOk(bits)) bad(name, `has ${bits} bits: use 2–8`);
    const group = m[4] ? null : Number(m[3]);
    if (group !== null && !isPow2(group)) bad(name, `has group ${group}: use a power of two ≥ 2`);
    return { kind: 'int', method: m[1] as 'rtn' | 'gptq', bits, group };
  }
  if (s === 'quarot-w4a4-gptq') return { kind: 'quarot-gptq' };
  m = /^(norot|rh1|ro1|dfrot|adacodec)-w4a4(?:-(int4|nvfp4))?(-gptq)?$/.exec(s);
  if (m)
    return {
      kind: 'codec',
      codec: m[1] as CodecName,
      format: (m[2] ?? 'int4') as 'int4' | 'nvfp4',
      weights: m[3] ? 'gptq' : 'rtn',
    };
  m = /^turboquant(-gptq)?-w(\d)(?:-g(\d+))?(-fitted)?(-mse|-nocorr)?$/.exec(s);
  if (m) {
    const bits = Number(m[2]);
    if (!(bits >= 1 && bits <= 8)) bad(name, `has ${bits} bits: use 1–8`);
    const group = m[3] ? Number(m[3]) : 128;
    if (!isPow2(group) || group < 8) bad(name, `has group ${group}: use a power of two ≥ 8`);
    if (m[1] && (m[4] || m[5]))
      bad(name, 'combines GPTQ with a codebook/correction option: GPTQ uses the sphere codebook');
    return {
      kind: 'turboquant',
      method: m[1] ? 'gptq' : 'rtn',
      bits,
      group,
      codebook: m[4] ? 'fitted' : 'sphere',
      correction: m[5] === '-mse' ? 'mse' : m[5] === '-nocorr' ? 'none' : 'norm',
    };
  }
  if (s === 'q8_0' || s === 'q4_k_m') return { kind: 'kquant', recipe: s };
  m = /^gguf-(\w+)$/.exec(s);
  if (m) {
    if (!(GGUF_TYPES as readonly string[]).includes(m[1]!))
      bad(name, `has ggml type '${m[1]}': use one of ${GGUF_TYPES.join(', ')}`);
    return { kind: 'gguf-type', type: m[1] as (typeof GGUF_TYPES)[number] };
  }
  if (s === 'llamacpp-q8_0' || s === 'llamacpp-q4_k_m')
    return { kind: 'llamacpp-file', recipe: s.slice('llamacpp-'.length) as 'q8_0' | 'q4_k_m' };
  if (s.startsWith('mixed-')) return parseMixed(s.slice('mixed-'.length), name);
  m = /^kv-(k|v|kv)(\d)$/.exec(s);
  if (m) {
    if (!bitsOk(Number(m[2]))) bad(name, `has ${m[2]} bits: use 2–8`);
    return { kind: 'kv', side: m[1] as 'k' | 'v' | 'kv', bits: Number(m[2]) };
  }
  return null;
}

function parseRescale(s: string, name: string): RescaleChoice {
  if (s === 'awq') return { rule: 'awq' };
  const m = /^(smoothquant|hdiag)-a(\d+(?:\.\d+)?)$/.exec(s);
  if (!m) return bad(name, `has rescale prefix '${s}': use smoothquant-a<α>, hdiag-a<α> or awq`);
  const alpha = Number(m[2]);
  if (!(alpha >= 0 && alpha <= 1)) bad(name, `has α = ${m[2]}: use 0 ≤ α ≤ 1`);
  return { rule: m[1] as 'smoothquant' | 'hdiag', alpha };
}

/** Does this base method read calibration data? */
export function needsCalibration(b: BaseMethod, rescale: RescaleChoice | null): boolean {
  if (rescale) return true;
  if (b.kind === 'int' || b.kind === 'turboquant') return b.method === 'gptq';
  return b.kind === 'quarot-gptq' || b.kind === 'codec';
}

function formatOf(b: BaseMethod): string {
  switch (b.kind) {
    case 'eval':
      return b.recipe.replace(/-rtn\b/, '');
    case 'int':
      return `w${b.bits}a16-${b.group === null ? 'pc' : `g${b.group}`}`;
    case 'quarot-gptq':
      return 'quarot-w4a4';
    case 'codec':
      return `${b.codec}-w4a4-${b.format}`;
    case 'turboquant':
      return `tq-w${b.bits}-g${b.group}`;
    case 'kquant':
      return b.recipe;
    case 'gguf-type':
      return `gguf-${b.type}`;
    case 'llamacpp-file':
      return b.recipe;
    case 'mixed':
      return `mixed-${Object.entries(b.roles)
        .map(([r, f]) => `${r}${roleFormatLabel(f!)}`)
        .join('-')}-rest${roleFormatLabel(b.rest)}`;
    case 'kv':
      return `kv-${b.side}${b.bits}`;
  }
}

/**
 * Parses a catalog name. `evalCheck` validates names that no catalog rule matches as @nq/eval-ppl
 * recipes (it throws eval-ppl's own error); without it such names are rejected.
 */
export function parseModelRecipe(raw: string, evalCheck?: (name: string) => void): ModelMethod {
  const name = raw.trim();
  if (!name) bad(raw, 'is empty');
  const [head, ...opts] = name.split(';');
  let calib: { sequences: number; ctx: number } | null = null;
  let actOrder = false;
  for (const o of opts) {
    const m = /^calib=(\d+)x(\d+)$/.exec(o);
    if (m) {
      const sequences = Number(m[1]);
      const ctx = Number(m[2]);
      if (!(sequences >= 1 && sequences <= 4096 && ctx >= 2 && ctx <= 65536))
        bad(name, `has calib=${m[1]}x${m[2]}: use 1–4096 sequences of 2–65536 tokens`);
      calib = { sequences, ctx };
    } else if (o === 'act-order') actOrder = true;
    else bad(name, `has unknown option ';${o}': use ;calib=<N>x<L> or ;act-order`);
  }
  let rest = head!;
  let rescale: RescaleChoice | null = null;
  const plus = rest.indexOf('+');
  // '+kv4' is eval-ppl's own suffix, not a rescale prefix.
  if (plus > 0 && !rest.slice(plus).startsWith('+kv')) {
    rescale = parseRescale(rest.slice(0, plus), name);
    rest = rest.slice(plus + 1);
  }
  let base = parseBase(rest, name);
  if (!base) {
    if (!evalCheck) return bad(name, 'is not a known recipe');
    try {
      evalCheck(rest);
    } catch {
      return bad(name, 'is not a known recipe');
    }
    base = { kind: 'eval', recipe: rest };
  }
  if (rescale && (base.kind === 'codec' || base.kind === 'llamacpp-file' || base.kind === 'kv'))
    bad(name, `cannot take a rescale prefix (${base.kind} recipes bring their own model)`);
  if (actOrder && !((base.kind === 'int' || base.kind === 'turboquant') && base.method === 'gptq'))
    bad(name, 'has ;act-order but is not a GPTQ recipe (gptq-… or turboquant-gptq-…)');
  const calibrates = needsCalibration(base, rescale);
  if (calib && !calibrates) bad(name, 'has ;calib= but does not calibrate');
  return {
    v: 1,
    name,
    rescale,
    base,
    calib: calibrates ? (calib ?? { ...DEFAULT_CALIB }) : null,
    actOrder,
    format: formatOf(base),
  };
}
