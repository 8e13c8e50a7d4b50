// WGSL sources for the quantizer kernels. Each generator returns shader text; the text is the
// pipeline-cache key (getPipeline), so constants are baked in rather than passed per dispatch.
//
// Linear workgroup index: wid.x + wid.y·nwg.x (workgroupGrid splits large counts over y).

import { F32_MAX_WGSL as F32_MAX } from './wgsl-snippets.js';

/**
 * min and max over contiguous spans. Reads loIn/hiIn (bind x to both for the first pass) and writes
 * one (lo, hi) per unit. Unit u covers [u·span, min((u+1)·span, n)). One workgroup per unit.
 */
export function spanStatsShader(wg: number): string {
  return /* wgsl */ `
struct P { n: u32, span: u32, units: u32, pad: u32 }
@group(0) @binding(0) var<storage, read> loIn: array<f32>;
@group(0) @binding(1) var<storage, read> hiIn: array<f32>;
@group(0) @binding(2) var<storage, read_write> loOut: array<f32>;
@group(0) @binding(3) var<storage, read_write> hiOut: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
var<workgroup> slo: array<f32, ${wg}>;
var<workgroup> shi: array<f32, ${wg}>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) w: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_id) l: vec3u) {
  let u = w.x + w.y * nw.x;
  if (u >= p.units) { return; }
  let start = u * p.span;
  let end = min(start + p.span, p.n);
  var lo = ${F32_MAX};
  var hi = -${F32_MAX};
  for (var f = start + l.x; f < end; f += ${wg}u) {
    lo = min(lo, loIn[f]);
    hi = max(hi, hiIn[f]);
  }
  slo[l.x] = lo;
  shi[l.x] = hi;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s = s >> 1u) {
    if (l.x < s) {
      slo[l.x] = min(slo[l.x], slo[l.x + s]);
      shi[l.x] = max(shi[l.x], shi[l.x + s]);
    }
    workgroupBarrier();
  }
  if (l.x == 0u) {
    loOut[u] = slo[0];
    hiOut[u] = shi[0];
  }
}`;
}

/** min and max of every column (granularity 'channel'): one thread per column, coalesced across threads. */
export const channelStatsShader = /* wgsl */ `
struct P { rows: u32, cols: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> loOut: array<f32>;
@group(0) @binding(2) var<storage, read_write> hiOut: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) w: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_id) l: vec3u) {
  let j = (w.x + w.y * nw.x) * 64u + l.x;
  if (j >= p.cols) { return; }
  var lo = ${F32_MAX};
  var hi = -${F32_MAX};
  for (var i = 0u; i < p.rows; i++) {
    let v = x[i * p.cols + j];
    lo = min(lo, v);
    hi = max(hi, v);
  }
  loOut[j] = lo;
  hiOut[j] = hi;
}`;

/**
 * INT scale/zero of every unit from (lo, hi) with clip ratio p.clip: intParamsFnWgsl, the same
 * formulas as the CPU reference (cpu/int-quantize.ts setUnitParams). One thread per unit.
 */
export function intParamsShader(bits: number, symmetric: boolean): string {
  return /* wgsl */ `
struct P { units: u32, pad0: u32, pad1: u32, clip: f32 }
@group(0) @binding(0) var<storage, read> loIn: array<f32>;
@group(0) @binding(1) var<storage, read> hiIn: array<f32>;
@group(0) @binding(2) var<storage, read_write> scales: array<f32>;
@group(0) @binding(3) var<storage, read_write> zeros: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
${intParamsFnWgsl(bits, symmetric)}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) w: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_id) l: vec3u) {
  let u = (w.x + w.y * nw.x) * 64u + l.x;
  if (u >= p.units) { return; }
  let sz = params(loIn[u], hiIn[u], p.clip);
  scales[u] = sz.x;
  zeros[u] = sz.y;
}`;
}

/** The INT element quantizer: fake-quant value and code. QMIN/QMAX are the code range. */
export function intElementWgsl(bits: number, symmetric: boolean): string {
  const qmin = symmetric ? -(1 << (bits - 1)) : 0;
  const qmax = symmetric ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
  return /* wgsl */ `
fn qcode(v: f32, s: f32, z: f32) -> f32 {
  if (s == 0.0) { return z; }
  return clamp(round(v / s) + z, ${qmin}.0, ${qmax}.0);
}
fn qdq(v: f32, s: f32, z: f32) -> f32 {
  if (s == 0.0) { return 0.0; }
  return (qcode(v, s, z) - z) * s;
}`;
}

/**
 * Elementwise pass: out[f] = qdq(x[f], scale[u], zero[u]) (or the code, as f32, when `codes`). The
 * element function comes from the format (intElementWgsl, or @nq/quant-fp's). Unit of f: f / span,
 * or f % cols when span = 0 (channel).
 */
export function applyShader(elementWgsl: string, codes: boolean): string {
  return /* wgsl */ `
struct P { n: u32, span: u32, cols: u32, pad: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> scales: array<f32>;
@group(0) @binding(2) var<storage, read> zeros: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
${elementWgsl}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_id) l: vec3u) {
  let f = (w.x + w.y * nw.x) * 256u + l.x;
  if (f >= p.n) { return; }
  var u: u32;
  if (p.span == 0u) { u = f % p.cols; } else { u = f / p.span; }
  out[f] = ${codes ? 'qcode' : 'qdq'}(x[f], scales[u], zeros[u]);
}`;
}

/**
 * MSE clip search, one thread per unit: for each ratio p = 1 − i/grid, compute the unit's params
 * with \`paramsWgsl\` (fn params(lo, hi, p) -> vec2f (scale, zero)) and Σ|qdq(x) − x|^norm over the
 * unit's elements start + t·stride; keep the first minimum. Writes scales, zeros.
 */
export function clipSearchShader(
  elementWgsl: string,
  paramsWgsl: string,
  grid: number,
  steps: number,
  norm: number,
): string {
  const pw = norm === 2 ? 'e * e' : `select(0.0, pow(e, ${norm.toFixed(6)}), e > 0.0)`;
  return /* wgsl */ `
struct P { units: u32, span: u32, cols: u32, count: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> loIn: array<f32>;
@group(0) @binding(2) var<storage, read> hiIn: array<f32>;
@group(0) @binding(3) var<storage, read_write> scales: array<f32>;
@group(0) @binding(4) var<storage, read_write> zeros: array<f32>;
@group(0) @binding(5) var<uniform> p: P;
${elementWgsl}
${paramsWgsl}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) w: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_id) l: vec3u) {
  let u = (w.x + w.y * nw.x) * 64u + l.x;
  if (u >= p.units) { return; }
  var start: u32;
  var stride: u32;
  if (p.span == 0u) { start = u; stride = p.cols; } else { start = u * p.span; stride = 1u; }
  let lo = loIn[u];
  let hi = hiIn[u];
  var best = ${F32_MAX};
  var bs = 0.0;
  var bz = 0.0;
  for (var i = 0u; i < ${steps}u; i++) {
    let r = 1.0 - f32(i) / ${grid}.0;
    let sz = params(lo, hi, r);
    var err = 0.0;
    for (var t = 0u; t < p.count; t++) {
      let v = x[start + t * stride];
      let e = abs(qdq(v, sz.x, sz.y) - v);
      err += ${pw};
    }
    if (err < best) { best = err; bs = sz.x; bz = sz.y; }
  }
  scales[u] = bs;
  zeros[u] = bz;
}`;
}

/** fn params(lo, hi, r) -> vec2f (scale, zero) for INT with clip ratio r (intParamsShader, clipSearchShader). */
export function intParamsFnWgsl(bits: number, symmetric: boolean): string {
  const qmaxSym = (1 << (bits - 1)) - 1;
  const qrange = (1 << bits) - 1;
  return symmetric
    ? `fn params(lo: f32, hi: f32, r: f32) -> vec2f { return vec2f(r * max(abs(lo), abs(hi)) / ${qmaxSym}.0, 0.0); }`
    : `fn params(lo: f32, hi: f32, r: f32) -> vec2f {
  if (lo == hi) { return vec2f(abs(lo), select(0.0, 1.0, lo < 0.0)); }
  let s = (r * hi - r * lo) / ${qrange}.0;
  return vec2f(s, select(round(-r * lo / s), 0.0, s == 0.0));
}`;
}
