/**
 * WGSL for the power-of-two FWHT of contiguous chunks of P floats (4 ≤ P ≤ workgroup memory), one
 * chunk per T threads, several chunks per workgroup. Generated per (P, E, rows-per-workgroup, io
 * mode) with everything unrolled so the butterflies run in registers.
 *
 * Walsh–Hadamard factorizes over the index bits (H_P = H_2 ⊗ … ⊗ H_2), so the L = log2 P butterfly
 * stages can be done in any order, a group of bits at a time, by whichever thread holds all the
 * elements that differ only in those bits:
 *  - round 0: thread t loads V = E/4 vec4s at vec4 index k·T + t (coalesced: neighbouring threads
 *    read neighbouring 16 bytes). Its E registers differ in element bits 0–1 (inside the vec4) and
 *    in the top log2 V bits (k), so it transforms those bits in registers, signs·scale applied on load;
 *  - rounds 1…: the middle bits (the thread-index bits 2 … 2+log2 T) in windows of log2 E bits: write
 *    registers to workgroup memory, barrier, read back the E elements that differ in the window's
 *    bits, transform in registers;
 *  - last: write to workgroup memory, read the round-0 pattern again, store vec4s (coalesced),
 *    multiplying by signs·scale on the way out for an inverse.
 * Each element is read once from and written once to global memory.
 */
export interface FwhtKernelConfig {
  /** Chunk length (power of two ≥ 4). */
  P: number;
  /** Elements per thread (power of two, 4 ≤ E ≤ P). */
  E: number;
  /** Chunks per workgroup. */
  rowsPerWg: number;
  /** 'none' | 'pre' (multiply by signs·scale before) | 'post' (after); 'scale' multiplies by scale only. */
  pre: 'none' | 'scale' | 'signs';
  post: 'none' | 'scale' | 'signs';
  /** Read from a separate input buffer (out of place) or transform in place. */
  outOfPlace: boolean;
  /**
   * Use subgroup shuffles for the element bits held by neighbouring lanes (needs the 'subgroups'
   * feature and a fixed subgroup size of 32 with lanes = consecutive invocations, as on NVIDIA).
   */
  subgroups?: boolean;
  /**
   * XOR-swizzle workgroup-memory addresses and pick each round's thread-bit mapping by bank-conflict
   * cost. Fewer conflicts on paper, but measured 1.4–2× slower on the H100 (run 2 vs run 1 in the
   * README), so off by default.
   */
  swizzle?: boolean;
}

/** log2 of a power of two, as an integer (shared by the kernel generator and the pass planner). */
export const log2 = (n: number): number => Math.round(Math.log2(n));

/**
 * A thread's element pattern in a window round: its E registers differ in element bits [lo, lo+e);
 * its thread index t fills the other bits, either low thread bits into the bits below the window
 * first ('below') or into the bits above it first ('above'). Both are valid; the generator picks,
 * per round, the one with fewer workgroup-memory bank conflicts (see bankCost).
 */
interface Pattern {
  wgsl: (j: number) => string;
  js: (t: number, j: number) => number;
}

function windowPattern(L: number, lo: number, e: number, order: 'below' | 'above'): Pattern {
  if (order === 'below') {
    const lowMask = (1 << lo) - 1;
    return {
      wgsl: (j) => `(${lo > 0 ? `(t & ${lowMask}u)` : '0u'} | ${j << lo}u | ((t >> ${lo}u) << ${lo + e}u))`,
      js: (t, j) => (t & lowMask) | (j << lo) | ((t >> lo) << (lo + e)),
    };
  }
  const hb = L - lo - e;
  const hiMask = (1 << hb) - 1;
  return {
    wgsl: (j) => `(((t & ${hiMask}u) << ${lo + e}u) | ${j << lo}u | (t >> ${hb}u))`,
    js: (t, j) => ((t & hiMask) << (lo + e)) | (j << lo) | (t >> hb),
  };
}

/**
 * Workgroup memory is addressed through an XOR swizzle, a ^ (((a >> 5) ^ (a >> 10)) & 31): a
 * bijection that folds higher address bits into the bank bits, so the strided patterns of the rounds
 * (and neighbouring chunks in one warp) land in different banks.
 */
const swizzleJs = (a: number) => a ^ (((a >> 5) ^ (a >> 10)) & 31);
const SWIZZLE_WGSL = 'fn sw(a: u32) -> u32 { return a ^ (((a >> 5u) ^ (a >> 10u)) & 31u); }';

/** Sum over registers and the first warps of the worst bank multiplicity of a pattern (32 banks). */
function bankCost(
  P: number,
  T: number,
  rowsPerWg: number,
  E: number,
  f: (t: number, j: number) => number,
): number {
  let cost = 0;
  const threads = T * rowsPerWg;
  for (let w0 = 0; w0 < Math.min(threads, 256); w0 += 32)
    for (let j = 0; j < E; j++) {
      const count = new Int32Array(32);
      let worst = 0;
      for (let li = w0; li < Math.min(w0 + 32, threads); li++) {
        const bank = swizzleJs(Math.floor(li / T) * P + f(li % T, j)) & 31;
        worst = Math.max(worst, ++count[bank]!);
      }
      cost += worst;
    }
  return cost;
}

function butterflies(regs: string[], bits: number[]): string {
  const lines: string[] = [];
  for (const b of bits) {
    const bit = 1 << b;
    for (let j = 0; j < regs.length; j++) {
      if (j & bit) continue;
      const a = regs[j]!;
      const c = regs[j | bit]!;
      lines.push(`{ let u = ${a}; let v = ${c}; ${a} = u + v; ${c} = u - v; }`);
    }
  }
  return lines.join('\n    ');
}

export function fwhtKernelWgsl(c: FwhtKernelConfig): string {
  const { P, E, rowsPerWg } = c;
  const L = log2(P);
  const e = log2(E);
  const T = P / E;
  const tb = log2(T);
  const V = E / 4;
  const regs = Array.from({ length: E }, (_, j) => `r${j}`);
  // Round-0 element index of register j: (j&3) | t<<2 | (j>>2)<<(2+tb)
  const r0Index = (j: number) => `(${j & 3}u | (t << 2u) | ${(j >> 2) << (2 + tb)}u)`;
  const body: string[] = [];
  // ---- round 0: coalesced vec4 loads, optional pre-multiply, transform over all register bits
  for (let k = 0; k < V; k++) {
    body.push(`let q${k} = src[gv + ${k * T}u + t];`);
    for (let cc = 0; cc < 4; cc++) body.push(`var r${4 * k + cc} = q${k}.${'xyzw'[cc]};`);
  }
  // signs·scale: one vec4 of signs per vec4 of data (dim is a multiple of 4, so a vec4 never straddles rows)
  const multiply = (kind: 'none' | 'scale' | 'signs') => {
    if (kind === 'none') return;
    for (let k = 0; k < V; k++) {
      const f =
        kind === 'signs' ? `signs[((g0 + ${r0Index(4 * k)}) % P.dim) / 4u] * P.scale` : 'vec4f(P.scale)';
      body.push(
        `{ let s = ${f}; r${4 * k} *= s.x; r${4 * k + 1} *= s.y; r${4 * k + 2} *= s.z; r${4 * k + 3} *= s.w; }`,
      );
    }
  };
  multiply(c.pre);
  body.push(
    butterflies(
      regs,
      Array.from({ length: e }, (_, b) => b),
    ),
  );
  // ---- subgroup rounds: in the round-0 pattern lane bits 0–4 of t are element bits 2–6, so those
  // butterflies need no workgroup memory: exchange with lane ^ mask and combine.
  let cur = 2;
  if (c.subgroups && tb >= 5) {
    for (let b = 0; b < 5; b++) {
      const mask = 1 << b;
      for (let j = 0; j < E; j++) {
        body.push(
          `{ let o = subgroupShuffleXor(r${j}, ${mask}u); r${j} = select(r${j} + o, o - r${j}, (t & ${mask}u) != 0u); }`,
        );
      }
    }
    cur = 7;
  }
  // ---- rounds over the remaining thread-index bits [cur, 2+tb)
  let prev: (j: number) => string = r0Index;
  const end = 2 + tb;
  let first = true;
  while (cur < end) {
    const lo = Math.min(cur, L - e);
    const stop = Math.min(cur + e, end);
    const below = windowPattern(L, lo, e, 'below');
    const above = windowPattern(L, lo, e, 'above');
    const pick =
      c.swizzle && bankCost(P, T, rowsPerWg, E, above.js) < bankCost(P, T, rowsPerWg, E, below.js)
        ? above
        : below;
    const idx = pick.wgsl;
    if (!first) body.push('workgroupBarrier();');
    for (let j = 0; j < E; j++) body.push(`sh[sw(base + ${prev(j)})] = r${j};`);
    body.push('workgroupBarrier();');
    for (let j = 0; j < E; j++) body.push(`r${j} = sh[sw(base + ${idx(j)})];`);
    const bits: number[] = [];
    for (let b = cur; b < stop; b++) bits.push(b - lo);
    body.push(butterflies(regs, bits));
    prev = idx;
    cur = stop;
    first = false;
  }
  // ---- back to the round-0 pattern for coalesced stores
  if (!first) {
    body.push('workgroupBarrier();');
    for (let j = 0; j < E; j++) body.push(`sh[sw(base + ${prev(j)})] = r${j};`);
    body.push('workgroupBarrier();');
    for (let j = 0; j < E; j++) body.push(`r${j} = sh[sw(base + ${r0Index(j)})];`);
  }
  multiply(c.post);
  body.push('if (live) {');
  for (let k = 0; k < V; k++)
    body.push(`  dst[gv + ${k * T}u + t] = vec4f(r${4 * k}, r${4 * k + 1}, r${4 * k + 2}, r${4 * k + 3});`);
  body.push('}');

  const bindings = c.outOfPlace
    ? `@group(0) @binding(0) var<storage, read> src: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4f>;`
    : `@group(0) @binding(0) var<storage, read_write> dst: array<vec4f>;`;
  const next = c.outOfPlace ? 2 : 1;
  const needSigns = c.pre === 'signs' || c.post === 'signs';
  const code = `${c.subgroups && tb >= 5 ? 'enable subgroups;\n' : ''}// nq hadamard: FWHT of ${P}-float chunks, ${E} per thread, ${T} threads per chunk, ${rowsPerWg} chunks per workgroup
struct Params { chunks: u32, dim: u32, scale: f32, pad: u32 }
${bindings}
@group(0) @binding(${next}) var<uniform> P: Params;
${needSigns ? `@group(0) @binding(${next + 1}) var<storage, read> signs: array<vec4f>;` : ''}
var<workgroup> sh: array<f32, ${P * rowsPerWg}>;
${c.swizzle ? SWIZZLE_WGSL : 'fn sw(a: u32) -> u32 { return a; }'}
@compute @workgroup_size(${T * rowsPerWg})
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = li % ${T}u;
  let rr = li / ${T}u;
  let chunk = (wid.x + wid.y * nwg.x) * ${rowsPerWg}u + rr;
  // Chunks past the end still take part in the barriers (uniform control flow): they read chunk 0
  // (clamped) and store nothing.
  let live = chunk < P.chunks;
  let cl = select(0u, chunk, live);
  let g0 = cl * ${P}u;
  let gv = cl * ${P / 4}u;
  let base = rr * ${P}u;
  ${body.join('\n  ')}
}
`;
  // In place there is one binding: loads read dst.
  return c.outOfPlace ? code : code.replace(/= src\[/g, '= dst[');
}
