// Tiled GEMM kernels for the fused GEMM-error path. One workgroup computes a 64×64 output tile with
// 256 threads (16×16), each thread a 4×4 block held in registers; the K dimension is walked in steps
// of 16 through workgroup memory (A and B tiles stored k-major as vec4 so the inner loop does two 16-byte loads per 16 FMAs).
// Workgroup memory: 2 tiles × 16×64 f32 = 8 KiB (16 KiB for the dual kernel), under llvmpipe's 32 KiB.

import { REDUCE_ERROR_TRIPLE_WGSL } from './wgsl-snippets.js';

export const TILE = 64;
const BK = 16;

function loadTile(
  name: string,
  src: string,
  rowsVar: string,
  kVar: string,
  rowBase: string,
  transposedSource: boolean,
  colsVar = '',
): string {
  // Fills element r of row kk (vec4 ${name}[kk*16 + r/4], lane r%4) for kk < 16, r < 64 from source element (row rowBase + r, k k0 + kk).
  // transposedSource=false: source is row-major [rows × K] (index row*K + k);
  // transposedSource=true : source is row-major [K × cols] (index k*cols + col), i.e. the B of A·B.
  if (!transposedSource) {
    return `for (var q = 0u; q < 4u; q++) {
      let idx = lid + q * 256u;
      let r = idx / ${BK}u;
      let kk = idx % ${BK}u;
      let gr = ${rowBase} + r;
      let gk = k0 + kk;
      var v = 0.0;
      if (gr < ${rowsVar} && gk < ${kVar}) { v = ${src}[gr * ${kVar} + gk]; }
      ${name}[kk * 16u + r / 4u][r % 4u] = v;
    }`;
  }
  return `for (var q = 0u; q < 4u; q++) {
      let idx = lid + q * 256u;
      let kk = idx / 64u;
      let c = idx % 64u;
      let gc = ${rowBase} + c;
      let gk = k0 + kk;
      var v = 0.0;
      if (gc < ${colsVar} && gk < ${kVar}) { v = ${src}[gk * ${colsVar} + gc]; }
      ${name}[kk * 16u + c / 4u][c % 4u] = v;
    }`;
}

const HEADER = `
struct P { m: u32, n: u32, k: u32, offset: u32 }`;

/**
 * C = A·Bᵀ (A: m×k, B: n×k) when transB, else C = A·B (B: k×n). Used for the rotations X·R, W·R
 * with a dense R (transB = false) and as a plain GEMM.
 */
export function matmulShader(transB: boolean): string {
  return /* wgsl */ `${HEADER}
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
var<workgroup> As: array<vec4f, ${BK * 16}>;
var<workgroup> Bs: array<vec4f, ${BK * 16}>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row0 = w.y * 64u;
  let col0 = w.x * 64u;
  let tx = lid % 16u;
  let ty = lid / 16u;
  var acc: array<vec4f, 4>;
  for (var k0 = 0u; k0 < p.k; k0 += ${BK}u) {
    ${loadTile('As', 'A', 'p.m', 'p.k', 'row0', false)}
    ${transB ? loadTile('Bs', 'B', 'p.n', 'p.k', 'col0', false) : loadTile('Bs', 'B', '', 'p.k', 'col0', true, 'p.n')}
    workgroupBarrier();
    for (var kk = 0u; kk < ${BK}u; kk++) {
      let a = As[kk * 16u + ty];
      let b = Bs[kk * 16u + tx];
      acc[0] += a.x * b;
      acc[1] += a.y * b;
      acc[2] += a.z * b;
      acc[3] += a.w * b;
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + ty * 4u + i;
    if (r >= p.m) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let c = col0 + tx * 4u + j;
      if (c < p.n) { C[r * p.n + c] = acc[i][j]; }
    }
  }
}`;
}

/**
 * The fused error GEMM: per 64×64 tile, Y = X·Wᵀ and Ŷ = Xq·Wqᵀ together, then
 * Σ(Ŷ−Y)², ΣY², max|Ŷ−Y| over the tile reduced in workgroup memory and written to
 * partials[offset + 3·tile .. +2]. Y and Ŷ never reach memory.
 */
export const dualGemmErrorShader = /* wgsl */ `${HEADER}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read> Xq: array<f32>;
@group(0) @binding(3) var<storage, read> Wq: array<f32>;
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;
@group(0) @binding(5) var<uniform> p: P;
var<workgroup> As: array<vec4f, ${BK * 16}>;
var<workgroup> Bs: array<vec4f, ${BK * 16}>;
var<workgroup> Aq: array<vec4f, ${BK * 16}>;
var<workgroup> Bq: array<vec4f, ${BK * 16}>;
${REDUCE_ERROR_TRIPLE_WGSL}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row0 = w.y * 64u;
  let col0 = w.x * 64u;
  let tx = lid % 16u;
  let ty = lid / 16u;
  var acc: array<vec4f, 4>;
  var accq: array<vec4f, 4>;
  for (var k0 = 0u; k0 < p.k; k0 += ${BK}u) {
    ${loadTile('As', 'X', 'p.m', 'p.k', 'row0', false)}
    ${loadTile('Bs', 'W', 'p.n', 'p.k', 'col0', false)}
    ${loadTile('Aq', 'Xq', 'p.m', 'p.k', 'row0', false)}
    ${loadTile('Bq', 'Wq', 'p.n', 'p.k', 'col0', false)}
    workgroupBarrier();
    for (var kk = 0u; kk < ${BK}u; kk++) {
      let o = kk * 16u;
      let a = As[o + ty];
      let b = Bs[o + tx];
      let aq = Aq[o + ty];
      let bq = Bq[o + tx];
      acc[0] += a.x * b;
      acc[1] += a.y * b;
      acc[2] += a.z * b;
      acc[3] += a.w * b;
      accq[0] += aq.x * bq;
      accq[1] += aq.y * bq;
      accq[2] += aq.z * bq;
      accq[3] += aq.w * bq;
    }
    workgroupBarrier();
  }
  var sse = 0.0;
  var sig = 0.0;
  var mx = 0.0;
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + ty * 4u + i;
    for (var j = 0u; j < 4u; j++) {
      let c = col0 + tx * 4u + j;
      if (r < p.m && c < p.n) {
        let y = acc[i][j];
        let d = accq[i][j] - y;
        sse += d * d;
        sig += y * y;
        mx = max(mx, abs(d));
      }
    }
  }
  reduceErrorTriple(lid, vec3f(sse, sig, mx));
  if (lid == 0u) {
    let tile = w.x + w.y * nw.x;
    partials[p.offset + tile * 3u] = red[0].x;
    partials[p.offset + tile * 3u + 1u] = red[0].y;
    partials[p.offset + tile * 3u + 2u] = red[0].z;
  }
}`;

/**
 * Σ(b−a)², Σa², max|b−a| over two arrays of length n: each workgroup reduces 256·16 elements and
 * writes one triple to partials[offset + 3·wg]. Used for the activation and weight component errors.
 */
export const pairErrorShader = /* wgsl */ `
struct P { n: u32, offset: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
${REDUCE_ERROR_TRIPLE_WGSL}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = w.x + w.y * nw.x;
  let base = g * 4096u;
  var sse = 0.0;
  var sig = 0.0;
  var mx = 0.0;
  for (var q = 0u; q < 16u; q++) {
    let f = base + q * 256u + lid;
    if (f < p.n) {
      let r = a[f];
      let d = b[f] - r;
      sse += d * d;
      sig += r * r;
      mx = max(mx, abs(d));
    }
  }
  reduceErrorTriple(lid, vec3f(sse, sig, mx));
  if (lid == 0u) {
    partials[p.offset + g * 3u] = red[0].x;
    partials[p.offset + g * 3u + 1u] = red[0].y;
    partials[p.offset + g * 3u + 2u] = red[0].z;
  }
}`;
