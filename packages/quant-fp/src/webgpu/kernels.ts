import type { MiniFloatFormat } from '../formats/minifloat.js';

// WGSL for the floating-point element formats. Rounding: scale the magnitude by a power of two so
// the grid spacing of its binade becomes 1 (ldexp is exact), round() — half to even in WGSL — and
// scale back; saturate at the format's max. Same algorithm as formats/minifloat.ts roundToMiniFloat.

/** fn rmf_<name>(v: f32) -> f32: nearest representable value, ties to even, saturating. */
export function roundFnWgsl(fmt: MiniFloatFormat): string {
  return /* wgsl */ `
fn rmf_${fmt.name}(v: f32) -> f32 {
  let a = abs(v);
  if (a == 0.0) { return 0.0; }
  let e = max(i32((bitcast<u32>(a) >> 23u) & 0xffu) - 127, ${fmt.emin});
  let sh = ${fmt.mbits} - e;
  let r = min(ldexp(round(ldexp(a, sh)), -sh), ${fmt.max.toFixed(1)});
  return select(r, -r, v < 0.0);
}`;
}

/** fn code_<name>(r: f32) -> f32: the code (as f32) of an exactly representable value r. */
export function codeFnWgsl(fmt: MiniFloatFormat): string {
  const signBit = 1 << (fmt.ebits + fmt.mbits);
  return /* wgsl */ `
fn code_${fmt.name}(r: f32) -> f32 {
  let a = abs(r);
  var c = 0u;
  if (a > 0.0) {
    let e = i32((bitcast<u32>(a) >> 23u) & 0xffu) - 127;
    if (e < ${fmt.emin}) {
      c = u32(ldexp(a, ${fmt.mbits - fmt.emin}));
    } else {
      c = (u32(e + ${fmt.bias}) << ${fmt.mbits}u) | (u32(ldexp(a, ${fmt.mbits} - e)) - ${1 << fmt.mbits}u);
    }
  }
  if (r < 0.0 || (r == 0.0 && bitcast<u32>(r) != 0u)) { c = c | ${signBit}u; }
  return f32(c);
}`;
}

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
        ? `let g = max(abs(glo[0]), abs(ghi[0])) / 2688.0;
  if (g == 0.0) { scales[u] = 0.0; } else { scales[u] = rmf_e4m3(amax / 6.0 / g) * g; }`
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
${extra}
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
