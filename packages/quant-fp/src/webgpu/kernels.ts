import type { MiniFloatFormat } from '../formats/minifloat.js';

// WGSL for the floating-point element formats: the quantizer kernels' element and scale functions,
// built from the rounding snippets in wgsl-snippets.ts.
import { codeFnWgsl, NVFP4_SCALE_WGSL, roundFnWgsl } from './wgsl-snippets.js';

/** The element quantizer for applyShader: qdq/qcode(v, s, z) with z unused. */
export function fpElementWgsl(fmt: MiniFloatFormat): string {
  return /* wgsl */ `${roundFnWgsl(fmt)}
${codeFnWgsl(fmt)}
fn qcode(v: f32, s: f32, z: f32) -> f32 {
  if (s == 0.0) { return 0.0; }
  return code_${fmt.name}(rmf_${fmt.name}(v / s));
}
fn qdq(v: f32, s: f32, z: f32) -> f32 {
  if (s == 0.0) { return 0.0; }
  return rmf_${fmt.name}(v / s) * s;
}`;
}

/** params(lo, hi, r) for FP8 with clip ratio r: s = r·max|x|/FMAX. */
export function fp8ParamsFnWgsl(fmt: MiniFloatFormat): string {
  return `fn params(lo: f32, hi: f32, r: f32) -> vec2f { return vec2f(r * max(abs(lo), abs(hi)) / ${fmt.max.toFixed(1)}, 0.0); }`;
}

/**
 * Per-unit scales of the FP formats, one thread per unit. FP8: params(lo, hi, clip). NVFP4: global
 * g = max|X|/(6·448) from the one-element glo/ghi buffers, block scale b = e4m3(amax/6/g), s = b·g.
 * MXFP4: s = 2^clamp(⌊log2 amax⌋ − 2, −127, 127); an all-zero block gets s = 0.
 */
export function fpParamsShader(kind: 'fp8' | 'nvfp4' | 'mxfp4', extra: string): string {
  const body =
    kind === 'fp8'
      ? 'scales[u] = params(lo, hi, p.clip).x;'
      : kind === 'nvfp4'
        ? 'scales[u] = nvfp4BlockScale(amax, nvfp4GlobalScale(max(abs(glo[0]), abs(ghi[0]))));'
        : `if (amax == 0.0) { scales[u] = 0.0; } else {
    let e = clamp(i32((bitcast<u32>(amax) >> 23u) & 0xffu) - 127 - 2, -127, 127);
    scales[u] = ldexp(1.0, e);
  }`;
  return /* wgsl */ `
struct P { units: u32, pad0: u32, pad1: u32, clip: f32 }
@group(0) @binding(0) var<storage, read> loIn: array<f32>;
@group(0) @binding(1) var<storage, read> hiIn: array<f32>;
@group(0) @binding(2) var<storage, read> glo: array<f32>;
@group(0) @binding(3) var<storage, read> ghi: array<f32>;
@group(0) @binding(4) var<storage, read_write> scales: array<f32>;
@group(0) @binding(5) var<uniform> p: P;
${extra}${kind === 'nvfp4' ? NVFP4_SCALE_WGSL : ''}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) w: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_id) l: vec3u) {
  let u = (w.x + w.y * nw.x) * 64u + l.x;
  if (u >= p.units) { return; }
  let lo = loIn[u];
  let hi = hiIn[u];
  let amax = max(abs(lo), abs(hi));
  _ = glo[0];
  _ = ghi[0];
  ${body}
}`;
}
