// WGSL snippets of the INT formats: functions (and the constants they need), not whole kernels.
// A kernel concatenates the ones it uses into its shader text, so every kernel that quantizes to
// INT rounds the same way. WGSL's round() rounds half to even, as the CPU reference does.

/** Largest finite f32, as a WGSL expression (the start of a running minimum). */
export const F32_MAX_WGSL = 'bitcast<f32>(0x7f7fffffu)';

/**
 * fn fakeQuantSym(v, s, qmax) -> f32: symmetric INT fake quantization of one value with scale s > 0,
 * codes in [−qmax − 1, qmax] (qmax = 2^(bits−1) − 1): clamp(round(v / s), −qmax − 1, qmax)·s.
 * The caller handles s = 0 (an all-zero unit).
 */
export const FAKE_QUANT_SYM_WGSL = /* wgsl */ `
fn fakeQuantSym(v: f32, s: f32, qmax: f32) -> f32 {
  return clamp(round(v / s), -qmax - 1.0, qmax) * s;
}`;

/**
 * fn reduceErrorTriple(lid, v) over a 256-thread workgroup: (Σ, Σ, max) of every thread's
 * (sse, signal, max|d|), in the workgroup array `red`, which the snippet declares; the result is
 * red[0] after the call. Call it from uniform control flow (it holds barriers).
 */
export const REDUCE_ERROR_TRIPLE_WGSL = /* wgsl */ `
var<workgroup> red: array<vec3f, 256>;
fn reduceErrorTriple(lid: u32, v: vec3f) {
  red[lid] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (lid < s) {
      let o = red[lid + s];
      let t = red[lid];
      red[lid] = vec3f(t.x + o.x, t.y + o.y, max(t.z, o.z));
    }
    workgroupBarrier();
  }
}`;
