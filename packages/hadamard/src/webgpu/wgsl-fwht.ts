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
}

const log2 = (n: number): number => Math.round(Math.log2(n));

/** Index expression (u32) of register j in a window [lo, lo+e) pattern, thread index `t`. */
function windowIndex(lo: number, e: number, j: number): string {
  const lowMask = (1 << lo) - 1;
  const low = lo > 0 ? `(t & ${lowMask}u)` : '0u';
  return `(${low} | ${j << lo}u | ((t >> ${lo}u) << ${lo + e}u))`;
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
  if (c.pre !== 'none') {
    for (let j = 0; j < E; j++) {
      const f = c.pre === 'signs' ? `signs[(g0 + ${r0Index(j)}) % P.dim] * P.scale` : 'P.scale';
      body.push(`r${j} = r${j} * ${f};`);
    }
  }
  body.push(butterflies(regs, Array.from({ length: e }, (_, b) => b)));
  // ---- rounds over the thread-index bits [2, 2+tb)
  let prev: (j: number) => string = r0Index;
  let cur = 2;
  const end = 2 + tb;
  let first = true;
  while (cur < end) {
    const lo = Math.min(cur, L - e);
    const stop = Math.min(cur + e, end);
    const idx = (j: number) => windowIndex(lo, e, j);
    if (!first) body.push('workgroupBarrier();');
    for (let j = 0; j < E; j++) body.push(`sh[base + ${prev(j)}] = r${j};`);
    body.push('workgroupBarrier();');
    for (let j = 0; j < E; j++) body.push(`r${j} = sh[base + ${idx(j)}];`);
    const bits: number[] = [];
    for (let b = cur; b < stop; b++) bits.push(b - lo);
    body.push(butterflies(regs, bits));
    prev = idx;
    cur = stop;
    first = false;
  }
  // ---- back to the round-0 pattern for coalesced stores
  if (tb > 0) {
    if (!first) body.push('workgroupBarrier();');
    for (let j = 0; j < E; j++) body.push(`sh[base + ${prev(j)}] = r${j};`);
    body.push('workgroupBarrier();');
    for (let j = 0; j < E; j++) body.push(`r${j} = sh[base + ${r0Index(j)}];`);
  }
  if (c.post !== 'none') {
    for (let j = 0; j < E; j++) {
      const f = c.post === 'signs' ? `signs[(g0 + ${r0Index(j)}) % P.dim] * P.scale` : 'P.scale';
      body.push(`r${j} = r${j} * ${f};`);
    }
  }
  body.push('if (live) {');
  for (let k = 0; k < V; k++) body.push(`  dst[gv + ${k * T}u + t] = vec4f(r${4 * k}, r${4 * k + 1}, r${4 * k + 2}, r${4 * k + 3});`);
  body.push('}');

  const bindings = c.outOfPlace
    ? `@group(0) @binding(0) var<storage, read> src: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4f>;`
    : `@group(0) @binding(0) var<storage, read_write> dst: array<vec4f>;`;
  const next = c.outOfPlace ? 2 : 1;
  const needSigns = c.pre === 'signs' || c.post === 'signs';
  const code = `// nq hadamard: FWHT of ${P}-float chunks, ${E} per thread, ${T} threads per chunk, ${rowsPerWg} chunks per workgroup
struct Params { chunks: u32, dim: u32, scale: f32, pad: u32 }
${bindings}
@group(0) @binding(${next}) var<uniform> P: Params;
${needSigns ? `@group(0) @binding(${next + 1}) var<storage, read> signs: array<f32>;` : ''}
var<workgroup> sh: array<f32, ${P * rowsPerWg}>;
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
