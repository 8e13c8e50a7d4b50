/**
 * Per-channel statistics of an activation matrix X (rows × cols), partial over chunks of `chunk`
 * tokens: thread (col, chunk) walks its tokens down one column (neighbouring threads read
 * neighbouring columns: coalesced) and writes [max|x|, Σ|x|, Σx²] to out[(chunk·cols + col)·3 ..].
 * The host adds the chunks in float64 (max for the first).
 */
export const CHANNEL_STATS_WGSL = /* wgsl */ `
struct P { rows: u32, cols: u32, chunk: u32, pad: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let col = gid.x;
  let ch = gid.y;
  if (col >= p.cols) { return; }
  let t0 = ch * p.chunk;
  let t1 = min(t0 + p.chunk, p.rows);
  var m = 0.0;
  var sa = 0.0;
  var sq = 0.0;
  for (var t = t0; t < t1; t++) {
    let v = x[t * p.cols + col];
    let a = abs(v);
    m = max(m, a);
    sa += a;
    sq += v * v;
  }
  let o = (ch * p.cols + col) * 3u;
  out[o] = m;
  out[o + 1u] = sa;
  out[o + 2u] = sq;
}
`;

/**
 * Column scaling y = X·diag(s) (divide = 0) or X·diag(1/s) (divide = 1, a true division as the CPU's
 * unscaleActivation does), one thread per element.
 */
export const SCALE_COLUMNS_WGSL = /* wgsl */ `
struct P { n: u32, cols: u32, divide: u32, pad: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> s: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (w.x + w.y * nw.x) * 256u + li;
  if (i >= p.n) { return; }
  let c = s[i % p.cols];
  if (p.divide == 1u) {
    y[i] = x[i] / c;
  } else {
    y[i] = x[i] * c;
  }
}
`;
