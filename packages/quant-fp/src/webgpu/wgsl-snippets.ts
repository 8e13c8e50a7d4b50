import type { MiniFloatFormat } from '../formats/minifloat.js';

// WGSL snippets of the floating-point element formats: functions, not whole kernels; the quantizer
// kernels here and other packages' kernels (rotation-opt's NVFP4) concatenate them. Rounding: scale the magnitude by a power of two so
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

/**
 * NVFP4 two-level scale: nvfp4GlobalScale(amax of the tensor or chunk) = amax / (6·448), and
 * nvfp4BlockScale(block amax, g) = e4m3(amax / 6 / g)·g (0 when g = 0). Needs roundFnWgsl(E4M3).
 */
export const NVFP4_SCALE_WGSL = /* wgsl */ `
fn nvfp4GlobalScale(amax: f32) -> f32 { return amax / 2688.0; }
fn nvfp4BlockScale(amax: f32, g: f32) -> f32 {
  if (g == 0.0) { return 0.0; }
  return rmf_e4m3(amax / 6.0 / g) * g;
}`;
