/*
 * WGSL for the heavy inner products of DFRot and AdaCodec, float32 on the GPU. Matrices are
 * row-major; activations rows × n; a block-diagonal matrix is stored as its n/b blocks of b × b
 * (block k at k·b²) — a dense n × n matrix is the case b = n. Tiles are 16 × 16 (b must be a
 * multiple of 16).
 */
import { E2M1, E4M3 } from '@nq/quant-fp';
import { NVFP4_SCALE_WGSL, roundFnWgsl } from '@nq/quant-fp/webgpu';
import { FAKE_QUANT_SYM_WGSL } from '@nq/quant-int4/webgpu';

export const TILE = 16;

/**
 * Y = X·B (or X·Bᵀ when trans = 1) for a block-diagonal B: one 16 × 16 output tile per workgroup;
 * a column tile lies in one block, so only that block's b columns of X are read.
 */
export const blockGemmShader = /* wgsl */ `
struct P { rows: u32, n: u32, block: u32, trans: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
var<workgroup> xs: array<array<f32, 16>, 16>;
var<workgroup> bs: array<array<f32, 16>, 16>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let j0 = wid.x * 16u;
  let t = wid.y * 16u + lid.y;
  let k = j0 / p.block;
  let c0 = k * p.block;
  let bo = k * p.block * p.block;
  var acc = 0.0;
  for (var i0 = c0; i0 < c0 + p.block; i0 += 16u) {
    xs[lid.y][lid.x] = select(0.0, x[min(t, p.rows - 1u) * p.n + i0 + lid.x], t < p.rows);
    let bi = i0 + lid.y - c0;
    let bj = j0 + lid.x - c0;
    bs[lid.y][lid.x] = select(b[bo + bi * p.block + bj], b[bo + bj * p.block + bi], p.trans == 1u);
    workgroupBarrier();
    for (var q = 0u; q < 16u; q++) { acc += xs[lid.y][q] * bs[q][lid.x]; }
    workgroupBarrier();
  }
  if (t < p.rows) { y[t * p.n + j0 + lid.x] = acc; }
}`;

/**
 * Partial block cross products: out[s][k][i][j] = Σ_{t in row split s} w[t]·A[t, c0+i]·C[t, c0+j]
 * (c0 = k·b). Workgroup (column tile, row tile within the block, split); the host sums the splits
 * in float64.
 */
export const blockCrossShader = /* wgsl */ `
struct P { rows: u32, n: u32, block: u32, rowsPerSplit: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> c: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
var<workgroup> as_: array<array<f32, 16>, 16>;
var<workgroup> cs: array<array<f32, 16>, 16>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let j0 = wid.x * 16u;
  let k = j0 / p.block;
  let c0 = k * p.block;
  let i0 = c0 + wid.y * 16u;
  let tBegin = wid.z * p.rowsPerSplit;
  let tEnd = min(p.rows, tBegin + p.rowsPerSplit);
  var acc = 0.0;
  for (var t0 = tBegin; t0 < tEnd; t0 += 16u) {
    let t = t0 + lid.y;
    let ok = t < tEnd;
    let tc = min(t, p.rows - 1u);
    as_[lid.y][lid.x] = select(0.0, a[tc * p.n + i0 + lid.x] * w[tc], ok);
    cs[lid.y][lid.x] = select(0.0, c[tc * p.n + j0 + lid.x], ok);
    workgroupBarrier();
    for (var q = 0u; q < 16u; q++) { acc += as_[q][lid.y] * cs[q][lid.x]; }
    workgroupBarrier();
  }
  let bb = p.block * p.block;
  let nb = p.n / p.block;
  out[wid.z * nb * bb + k * bb + (i0 - c0 + lid.y) * p.block + (j0 - c0 + lid.x)] = acc;
}`;

/** Per row: err[t] = Σⱼ (a[t,j] − b[t,j])² (the host weights and sums in float64). */
export const rowSqDiffShader = /* wgsl */ `
struct P { rows: u32, n: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> err: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = (wid.x + wid.y * nwg.x) * 64u + lid.x;
  if (t >= p.rows) { return; }
  var s = 0.0;
  for (var j = 0u; j < p.n; j++) { let d = a[t * p.n + j] - b[t * p.n + j]; s += d * d; }
  err[t] = s;
}`;

/** g = w·(y − x) elementwise (w per row): the STE error signal. */
export const weightedDiffShader = /* wgsl */ `
struct P { rows: u32, n: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<storage, read> y: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> g: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let e = (wid.x + wid.y * nwg.x) * 256u + lid.x;
  if (e >= p.rows * p.n) { return; }
  g[e] = w[e / p.n] * (y[e] - x[e]);
}`;

/**
 * INT4 symmetric per-token fake quantization (one thread per row): s = max|z|/7,
 * ẑ = clamp(round(z/s), −8, 7)·s, round half to even (WGSL round); s = 0 ⇒ ẑ = 0.
 */
export const int4RowShader = /* wgsl */ `
struct P { rows: u32, n: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read_write> zq: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
${FAKE_QUANT_SYM_WGSL}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = (wid.x + wid.y * nwg.x) * 64u + lid.x;
  if (t >= p.rows) { return; }
  var amax = 0.0;
  for (var j = 0u; j < p.n; j++) { amax = max(amax, abs(z[t * p.n + j])); }
  let s = amax / 7.0;
  for (var j = 0u; j < p.n; j++) {
    var q = 0.0;
    if (s > 0.0) { q = fakeQuantSym(z[t * p.n + j], s, 7.0); }
    zq[t * p.n + j] = q;
  }
}`;

/** max|z| per row (one thread per row). */
export const rowAbsMaxShader = /* wgsl */ `
struct P { rows: u32, n: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read_write> m: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = (wid.x + wid.y * nwg.x) * 64u + lid.x;
  if (t >= p.rows) { return; }
  var amax = 0.0;
  for (var j = 0u; j < p.n; j++) { amax = max(amax, abs(z[t * p.n + j])); }
  m[t] = amax;
}`;

/**
 * NVFP4 fake quantization, one thread per (row, 16-element block). The global scale is per chunk
 * of `chunk` rows (one calibration window, as the model quantizes one window at a time):
 * g = max|Z_chunk| / (6·448), block scale b = e4m3(max|block| / 6 / g), s = b·g, ẑ = e2m1(z/s)·s
 * (rounding and scales: @nq/quant-fp's WGSL snippets).
 */
export const nvfp4Shader = /* wgsl */ `
struct P { rows: u32, n: u32, chunk: u32, pad1: u32 }
@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read> rowMax: array<f32>;
@group(0) @binding(2) var<storage, read_write> zq: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
${roundFnWgsl(E4M3)}
${roundFnWgsl(E2M1)}
${NVFP4_SCALE_WGSL}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let u = (wid.x + wid.y * nwg.x) * 64u + lid.x;
  let perRow = p.n / 16u;
  if (u >= p.rows * perRow) { return; }
  let t = u / perRow;
  let o = t * p.n + (u % perRow) * 16u;
  let r0 = (t / p.chunk) * p.chunk;
  let r1 = min(p.rows, r0 + p.chunk);
  var gmax = 0.0;
  for (var r = r0; r < r1; r++) { gmax = max(gmax, rowMax[r]); }
  let g = nvfp4GlobalScale(gmax);
  var amax = 0.0;
  for (var j = 0u; j < 16u; j++) { amax = max(amax, abs(z[o + j])); }
  let s = nvfp4BlockScale(amax, g);
  for (var j = 0u; j < 16u; j++) {
    var q = 0.0;
    if (s > 0.0) { q = rmf_e2m1(z[o + j] / s) * s; }
    zq[o + j] = q;
  }
}`;

/**
 * The expected-error surrogate (surrogate.ts), one thread per (row, scale group of g elements):
 * val[u] = w·g·Mₚ², grad = ∂/∂z of it divided by den. Mₚ = amax·(Σ(|z|/amax)^p)^(1/p).
 */
export const surrogateShader = /* wgsl */ `
struct P { rows: u32, n: u32, group: u32, pad0: u32, pexp: f32, invDen: f32, pad1: f32, pad2: f32 }
@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> val: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let u = (wid.x + wid.y * nwg.x) * 64u + lid.x;
  let perRow = p.n / p.group;
  if (u >= p.rows * perRow) { return; }
  let t = u / perRow;
  let o = t * p.n + (u % perRow) * p.group;
  let g = f32(p.group);
  var amax = 0.0;
  for (var j = 0u; j < p.group; j++) { amax = max(amax, abs(z[o + j])); }
  let wt = w[t];
  if (amax == 0.0 || wt == 0.0) {
    for (var j = 0u; j < p.group; j++) { grad[o + j] = 0.0; }
    val[u] = 0.0;
    return;
  }
  var sum = 0.0;
  for (var j = 0u; j < p.group; j++) { sum += pow(abs(z[o + j]) / amax, p.pexp); }
  let m = amax * pow(sum, 1.0 / p.pexp);
  val[u] = wt * g * m * m;
  let k = 2.0 * wt * g * m * pow(amax / m, p.pexp - 1.0) * p.invDen;
  for (var j = 0u; j < p.group; j++) {
    let v = z[o + j];
    grad[o + j] = k * sign(v) * pow(abs(v) / amax, p.pexp - 1.0);
  }
}`;
