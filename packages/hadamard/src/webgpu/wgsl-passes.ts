/**
 * The other WGSL passes of a rotation (all in place unless noted):
 *  - bitsPass: butterflies over index bits [lo, hi) (≤ 3 bits) of P-float chunks, one group of
 *    2^(hi−lo) elements per thread, optional signs·scale before/after. Transforms chunks too large for
 *    workgroup memory (the high bits after a per-4096/8192 chunk pass: H_P = H_high ⊗ H_low) and the
 *    tiny P < 4 case. Neighbouring threads touch neighbouring floats (coalesced).
 *  - mixPass: the H_m factor of a Kronecker block H_m ⊗ H_p — a small matmul Y = H_mᵀ·Z on the block
 *    viewed as m × p; a workgroup loads an m × TC column tile into workgroup memory and writes H_mᵀ·tile.
 *  - orthogonalPass (out of place): y = x·Q per block, one thread per output (plain, for learned /
 *    random orthogonal stages).
 */
export function bitsPassWgsl(
  P: number,
  lo: number,
  hi: number,
  pre: 'none' | 'scale' | 'signs',
  post: 'none' | 'scale' | 'signs',
): string {
  const nb = hi - lo;
  const G = 1 << nb;
  const regs = Array.from({ length: G }, (_, j) => `r${j}`);
  const lines: string[] = [];
  for (let j = 0; j < G; j++) lines.push(`var r${j} = x[e0 + ${j << lo}u];`);
  const mulExpr = (kind: 'scale' | 'signs', j: number) =>
    kind === 'signs' ? `signs[(e0 + ${j << lo}u) % P.dim] * P.scale` : 'P.scale';
  if (pre !== 'none') for (let j = 0; j < G; j++) lines.push(`r${j} = r${j} * ${mulExpr(pre, j)};`);
  for (let b = 0; b < nb; b++)
    for (let j = 0; j < G; j++) {
      if (j & (1 << b)) continue;
      lines.push(
        `{ let u = ${regs[j]}; let v = ${regs[j | (1 << b)]}; ${regs[j]} = u + v; ${regs[j | (1 << b)]} = u - v; }`,
      );
    }
  if (post !== 'none') for (let j = 0; j < G; j++) lines.push(`r${j} = r${j} * ${mulExpr(post, j)};`);
  for (let j = 0; j < G; j++) lines.push(`x[e0 + ${j << lo}u] = r${j};`);
  const needSigns = pre === 'signs' || post === 'signs';
  return `// nq hadamard: bits [${lo}, ${hi}) of ${P}-float chunks
struct Params { groups: u32, dim: u32, scale: f32, pad: u32 }
@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<uniform> P: Params;
${needSigns ? '@group(0) @binding(2) var<storage, read> signs: array<f32>;' : ''}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = (wid.x + wid.y * nwg.x) * 256u + li;
  if (gid >= P.groups) { return; }
  let chunk = gid / ${P >> nb}u;
  let g = gid % ${P >> nb}u;
  let e0 = chunk * ${P}u + (g & ${(1 << lo) - 1}u) + ((g >> ${lo}u) << ${hi}u);
  ${lines.join('\n  ')}
}
`;
}

export function mixPassWgsl(m: number, p: number, tc: number, transposed: boolean): string {
  const tiles = p / tc;
  const hIndex = transposed ? 'a2 * M + a' : 'a * M + a2';
  return `// nq hadamard: H_${m} factor of (H_${m} ⊗ H_${p}) blocks, ${tc}-column tiles
const M = ${m}u;
const TC = ${tc}u;
struct Params { blocks: u32, dim: u32, scale: f32, pad: u32 }
@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<uniform> P: Params;
@group(0) @binding(2) var<storage, read> hm: array<f32>;
var<workgroup> tile: array<f32, ${m * tc}>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let w = wid.x + wid.y * nwg.x;
  let live = w < P.blocks * ${tiles}u;
  let blk = select(0u, w / ${tiles}u, live);
  let c0 = (w % ${tiles}u) * TC;
  let base = blk * ${m * p}u + c0;
  for (var i = li; i < M * TC; i += 256u) {
    tile[i] = x[base + (i / TC) * ${p}u + i % TC];
  }
  workgroupBarrier();
  if (!live) { return; }
  for (var o = li; o < M * TC; o += 256u) {
    let a2 = o / TC;
    let c = o % TC;
    var s = 0.0;
    for (var a = 0u; a < M; a++) { s += hm[${hIndex}] * tile[a * TC + c]; }
    x[base + a2 * ${p}u + c] = s;
  }
}
`;
}

export function orthogonalPassWgsl(b: number, inverse: boolean): string {
  const qIndex = inverse ? 'q0 + c * B + i' : 'q0 + i * B + c';
  return `// nq hadamard: orthogonal ${b}×${b} blocks, y = x·Q${inverse ? 'ᵀ' : ''}
const B = ${b}u;
struct Params { total: u32, dim: u32, scale: f32, pad: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;
@group(0) @binding(3) var<storage, read> q: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = (wid.x + wid.y * nwg.x) * 256u + li;
  if (gid >= P.total) { return; }
  let col = gid % P.dim;
  let blk = col / B;
  let c = col % B;
  let x0 = gid - c;
  let q0 = blk * B * B;
  var s = 0.0;
  for (var i = 0u; i < B; i++) { s += x[x0 + i] * q[${qIndex}]; }
  y[gid] = s;
}
`;
}
