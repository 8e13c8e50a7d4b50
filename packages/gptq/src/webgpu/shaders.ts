/*
 * WGSL for GPTQ's two O(n³)-class parts. 16×16 tiles through workgroup memory; f32 (WGSL has no f64).
 */

export const TILE = 16;

/**
 * S += XᵀX for a batch X (T × n, row-major), upper-triangle tiles only (tile row ≤ tile column;
 * finalize mirrors). Workgroup (tx, ty) owns S[ty·16 .. +16, tx·16 .. +16]; tokens stream through
 * workgroup memory 16 at a time. The batch's product is added to S with Kahan compensation (C holds
 * the running compensation), so many batches can be summed without float32 drift.
 */
export const hessianShader = /* wgsl */ `
struct P { n: u32, T: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> s: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
var<workgroup> ta: array<array<f32, 16>, 16>;
var<workgroup> tb: array<array<f32, 16>, 16>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  if (wid.y > wid.x) { return; } // lower-triangle tile: uniform per workgroup
  let i = wid.y * 16u + lid.y;
  let j = wid.x * 16u + lid.x;
  let ia = wid.y * 16u + lid.x;
  let jb = wid.x * 16u + lid.x;
  var acc = 0.0;
  for (var t0 = 0u; t0 < p.T; t0 = t0 + 16u) {
    let t = t0 + lid.y;
    var va = 0.0;
    var vb = 0.0;
    if (t < p.T) {
      if (ia < p.n) { va = x[t * p.n + ia]; }
      if (jb < p.n) { vb = x[t * p.n + jb]; }
    }
    ta[lid.y][lid.x] = va;
    tb[lid.y][lid.x] = vb;
    workgroupBarrier();
    for (var k = 0u; k < 16u; k = k + 1u) {
      acc = acc + ta[k][lid.y] * tb[k][lid.x];
    }
    workgroupBarrier();
  }
  if (i < p.n && j < p.n) {
    let idx = i * p.n + j;
    let y = acc - c[idx];
    let sum = s[idx] + y;
    c[idx] = (sum - s[idx]) - y;
    s[idx] = sum;
  }
}
`;

/**
 * GPTQ's lazy batch update with W stored transposed (Wᵀ: cols × rows, so a block of columns is a
 * contiguous range to read back): Wᵀ[j, r] −= Σ_k U[i1+k, j]·Errᵀ[k, r] for j ≥ i2, k < bw.
 * Workgroup (tx, ty) owns rows r ∈ tx·16.., columns j ∈ i2 + ty·16..
 */
export const lazyUpdateShader = /* wgsl */ `
struct P { rows: u32, cols: u32, i1: u32, bw: u32, i2: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<storage, read_write> wt: array<f32>;
@group(0) @binding(1) var<storage, read> u: array<f32>;
@group(0) @binding(2) var<storage, read> et: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
var<workgroup> tu: array<array<f32, 16>, 16>;
var<workgroup> te: array<array<f32, 16>, 16>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = wid.x * 16u + lid.x;
  let j = p.i2 + wid.y * 16u + lid.y;
  let jl = p.i2 + wid.y * 16u + lid.x; // the column this thread loads
  var acc = 0.0;
  for (var k0 = 0u; k0 < p.bw; k0 = k0 + 16u) {
    let k = k0 + lid.y;
    var vu = 0.0;
    var ve = 0.0;
    if (k < p.bw) {
      if (jl < p.cols) { vu = u[(p.i1 + k) * p.cols + jl]; }
      if (r < p.rows) { ve = et[k * p.rows + r]; }
    }
    tu[lid.y][lid.x] = vu;
    te[lid.y][lid.x] = ve;
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk = kk + 1u) {
      acc = acc + tu[kk][lid.y] * te[kk][lid.x];
    }
    workgroupBarrier();
  }
  if (r < p.rows && j < p.cols) {
    let idx = j * p.rows + r;
    wt[idx] = wt[idx] - acc;
  }
}
`;
