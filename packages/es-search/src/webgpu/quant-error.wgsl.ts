import { FAKE_QUANT_SYM_WGSL } from '@nq/quant-int4/webgpu';

/**
 * Per-token symmetric fake-quant error of one rotated activation matrix: one workgroup per row
 * (64 threads) finds max|x|, then Σ(Q(x) − x)² and Σx² over the row, written as two floats per row
 * at sums[outOff + 2·row]. The host adds the rows in float64. Same definition as the CPU
 * (fakeQuantRowsSym); fakeQuantSym is @nq/quant-int4's snippet (WGSL's round() rounds half to
 * even). The scale is divided in float32 here (the CPU divides in float64 and rounds the scale to
 * float32), so a value within an ulp of a rounding boundary can land on the other side: GPU and CPU
 * errors agree to a tolerance, not bit for bit.
 */
export const QUANT_ERROR_WGSL = /* wgsl */ `
struct Params { rows: u32, cols: u32, qmax: f32, outOff: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> sums: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;
var<workgroup> ra: array<f32, 64>;
var<workgroup> rb: array<f32, 64>;
${FAKE_QUANT_SYM_WGSL}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= P.rows) { return; }
  let base = row * P.cols;
  var m = 0.0;
  for (var j = li; j < P.cols; j += 64u) { m = max(m, abs(x[base + j])); }
  ra[li] = m;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (li < s) { ra[li] = max(ra[li], ra[li + s]); }
    workgroupBarrier();
  }
  let sc = ra[0] / P.qmax;
  workgroupBarrier();
  var e = 0.0;
  var sig = 0.0;
  if (sc > 0.0) {
    for (var j = li; j < P.cols; j += 64u) {
      let v = x[base + j];
      let d = fakeQuantSym(v, sc, P.qmax) - v;
      e += d * d;
      sig += v * v;
    }
  }
  ra[li] = e;
  rb[li] = sig;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (li < s) { ra[li] += ra[li + s]; rb[li] += rb[li + s]; }
    workgroupBarrier();
  }
  if (li == 0u) {
    sums[P.outOff + 2u * row] = ra[0];
    sums[P.outOff + 2u * row + 1u] = rb[0];
  }
}
`;
