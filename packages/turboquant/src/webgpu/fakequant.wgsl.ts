/**
 * TurboQuant quantize + dequantize of one (row, group) per workgroup (64 invocations).
 * Layout: w, out: rows × cols f32 row-major; codes: rows × cols u32; scales: rows × groups f32;
 * signs: G f32 (±1); book: K f32 ascending. Workgroup index (wid.x + wid.y·nwg.x) = row·groups + k.
 * Steps (barriers between them): load the group into workgroup memory; reduce ‖v‖²; scale by σ/‖v‖;
 * FWHT (log2 G butterfly stages, f32) and × 1/√G; nearest centroid (binary search, ties to the lower
 * centroid, as the CPU) with reductions of ⟨y,ŷ⟩ and ‖ŷ‖²; inverse FWHT, × σ/√G × the group scale.
 * G is baked into the shader text (pipelines are cached per text). Workgroup memory: 4·G + 512 bytes.
 */
export function turboquantWgsl(G: number): string {
  return /* wgsl */ `
const G: u32 = ${G}u;
struct Params { rows: u32, cols: u32, groups: u32, K: u32, correction: u32, invSqrtG: f32, pad0: u32, pad1: u32 }

@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read> signs: array<f32>;
@group(0) @binding(2) var<storage, read> book: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> codes: array<u32>;
@group(0) @binding(5) var<storage, read_write> scales: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

var<workgroup> s: array<f32, G>;
var<workgroup> red0: array<f32, 64>;
var<workgroup> red1: array<f32, 64>;

fn fwht(lid: u32) {
  var h: u32 = 1u;
  loop {
    if (h >= G) { break; }
    for (var i: u32 = lid; i < G / 2u; i = i + 64u) {
      let j = (i / h) * 2u * h + (i % h);
      let a = s[j];
      let b = s[j + h];
      s[j] = a + b;
      s[j + h] = a - b;
    }
    workgroupBarrier();
    h = h * 2u;
  }
}

fn nearest(v: f32) -> u32 {
  let K = p.K;
  if (v <= book[0]) { return 0u; }
  if (v >= book[K - 1u]) { return K - 1u; }
  var lo: u32 = 0u;
  var hi: u32 = K - 1u;
  loop {
    if (hi - lo <= 1u) { break; }
    let mid = (lo + hi) / 2u;
    if (book[mid] <= v) { lo = mid; } else { hi = mid; }
  }
  if (v - book[lo] <= book[hi] - v) { return lo; }
  return hi;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lidv: vec3u) {
  let unit = wid.x + wid.y * nwg.x;
  if (unit >= p.rows * p.groups) { return; }
  let lid = lidv.x;
  let row = unit / p.groups;
  let k = unit % p.groups;
  let base = row * p.cols + k * G;

  var ss: f32 = 0.0;
  for (var j: u32 = lid; j < G; j = j + 64u) {
    let v = w[base + j];
    s[j] = v;
    ss = ss + v * v;
  }
  red0[lid] = ss;
  workgroupBarrier();
  for (var st: u32 = 32u; st > 0u; st = st / 2u) {
    if (lid < st) { red0[lid] = red0[lid] + red0[lid + st]; }
    workgroupBarrier();
  }
  let n = sqrt(red0[0]);
  var inv: f32 = 0.0;
  if (n > 0.0) { inv = 1.0 / n; }
  workgroupBarrier();
  for (var j: u32 = lid; j < G; j = j + 64u) { s[j] = s[j] * inv * signs[j]; }
  workgroupBarrier();
  fwht(lid);

  var dot: f32 = 0.0;
  var qq: f32 = 0.0;
  for (var j: u32 = lid; j < G; j = j + 64u) {
    let y = s[j] * p.invSqrtG;
    let c = nearest(y);
    codes[base + j] = c;
    let q = book[c];
    dot = dot + y * q;
    qq = qq + q * q;
    s[j] = q;
  }
  red0[lid] = dot;
  red1[lid] = qq;
  workgroupBarrier();
  for (var st: u32 = 32u; st > 0u; st = st / 2u) {
    if (lid < st) {
      red0[lid] = red0[lid] + red0[lid + st];
      red1[lid] = red1[lid] + red1[lid + st];
    }
    workgroupBarrier();
  }
  let D = red0[0];
  let Q = red1[0];
  var scale: f32 = n;
  if (n == 0.0 || Q == 0.0) { scale = 0.0; }
  else if (p.correction == 0u) { scale = n / sqrt(Q); }
  else if (p.correction == 1u) { scale = n * D / Q; }
  if (lid == 0u) { scales[unit] = scale; }
  workgroupBarrier();
  fwht(lid);
  for (var j: u32 = lid; j < G; j = j + 64u) {
    out[base + j] = s[j] * p.invSqrtG * signs[j] * scale;
  }
}
`;
}
