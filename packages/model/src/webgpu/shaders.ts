// WGSL kernels of the WebGPU forward pass. Every kernel binds a uniform `p` at binding 0, then its
// storage buffers in order (≤ 4 storage buffers: WebGPU compatibility mode's limit on llvmpipe).

/** Y[T, N] (= or +=) X[T, K]·W[N, K]ᵀ: 64×64 output tiles, 16×16 threads × 4×4 outputs each, K in steps of 16 through workgroup memory. */
export const MATMUL_WGSL = /* wgsl */ `
struct P { T: u32, K: u32, N: u32, accumulate: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
var<workgroup> xs: array<f32, 1024>;
var<workgroup> ws: array<f32, 1024>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row0 = wid.y * 64u;
  let col0 = wid.x * 64u;
  let tid = lid.y * 16u + lid.x;
  var acc: array<f32, 16>;
  for (var i = 0u; i < 16u; i++) { acc[i] = 0.0; }
  for (var k0 = 0u; k0 < p.K; k0 += 16u) {
    for (var i = 0u; i < 4u; i++) {
      let e = tid + i * 256u;
      let r = e / 16u;
      let c = e % 16u;
      let gk = k0 + c;
      let gr = row0 + r;
      let gn = col0 + r;
      var xv = 0.0;
      if (gr < p.T && gk < p.K) { xv = x[gr * p.K + gk]; }
      xs[e] = xv;
      var wv = 0.0;
      if (gn < p.N && gk < p.K) { wv = w[gn * p.K + gk]; }
      ws[e] = wv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        a[i] = xs[(lid.y * 4u + i) * 16u + kk];
        b[i] = ws[(lid.x * 4u + i) * 16u + kk];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i * 4u + j] += a[i] * b[j]; }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + lid.y * 4u + i;
    if (r >= p.T) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let c = col0 + lid.x * 4u + j;
      if (c >= p.N) { continue; }
      let o = r * p.N + c;
      if (p.accumulate != 0u) { y[o] = y[o] + acc[i * 4u + j]; } else { y[o] = acc[i * 4u + j]; }
    }
  }
}`;

/** out[t] = x[t] / sqrt(mean(x[t]²) + eps) ⊙ g; one 64-thread workgroup per row. */
export const RMSNORM_WGSL = /* wgsl */ `
struct P { T: u32, D: u32, eps: f32, pad: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
var<workgroup> part: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row = wid.x;
  let base = row * p.D;
  var s = 0.0;
  for (var i = lid.x; i < p.D; i += 64u) { let v = x[base + i]; s += v * v; }
  part[lid.x] = s;
  workgroupBarrier();
  for (var stride = 32u; stride > 0u; stride >>= 1u) {
    if (lid.x < stride) { part[lid.x] += part[lid.x + stride]; }
    workgroupBarrier();
  }
  let inv = inverseSqrt(part[0] / f32(p.D) + p.eps);
  for (var i = lid.x; i < p.D; i += 64u) { out[base + i] = x[base + i] * inv * g[i]; }
}`;

/** Interleaved-pair RoPE in place, from a host-computed cos/sin table [pos, hd/2, 2]. */
export const ROPE_WGSL = /* wgsl */ `
struct P { T: u32, width: u32, hd: u32, pos0: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> cs: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = gid.x + gid.y * nwg.x * 64u;
  let pairs = p.width / 2u;
  if (idx >= p.T * pairs) { return; }
  let t = idx / pairs;
  let pr = idx % pairs;
  let i = pr % (p.hd / 2u);
  let tb = ((p.pos0 + t) * (p.hd / 2u) + i) * 2u;
  let c = cs[tb];
  let s = cs[tb + 1u];
  let j = t * p.width + pr * 2u;
  let a = x[j];
  let b = x[j + 1u];
  x[j] = a * c - b * s;
  x[j + 1u] = a * s + b * c;
}`;

/**
 * Fused causal grouped-query attention, one 64-thread workgroup per (query t, head h). Positions go
 * through workgroup memory in tiles of ATTENTION_TILE scores with an online softmax: per tile the
 * scores and their max, the running max m' = max(m, tile max), then the running sum and each
 * thread's output channels are rescaled by exp(m − m') before the tile's exp(s − m')·v terms are
 * added — so any context length works (a single tile gives exactly the one-pass result).
 * q holds the T new tokens; k/v hold `past` earlier positions followed by the T new ones (a KV
 * cache, or just the T new rows when past = 0), so query t attends to positions 0..past+t.
 * Each thread owns output channels lid, lid + 64, …: head size ≤ 64·ATTENTION_CHANNELS_PER_THREAD.
 */
export const ATTENTION_TILE = 1024;
export const ATTENTION_CHANNELS_PER_THREAD = 4;
export const ATTENTION_WGSL = /* wgsl */ `
struct P { T: u32, nHeads: u32, nKv: u32, hd: u32, scale: f32, past: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
const TILE = ${ATTENTION_TILE}u;
const CH = ${ATTENTION_CHANNELS_PER_THREAD}u;
var<workgroup> sc: array<f32, TILE>;
var<workgroup> red: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid3: vec3u) {
  let lid = lid3.x;
  let t = wid.x;
  let h = wid.y;
  let g = h / (p.nHeads / p.nKv);
  let qDim = p.nHeads * p.hd;
  let kvDim = p.nKv * p.hd;
  let len = p.past + t + 1u;
  let qo = t * qDim + h * p.hd;
  var m = -3.4e38;
  var l = 0.0;
  var acc: array<f32, CH>;
  for (var s0 = 0u; s0 < len; s0 += TILE) {
    let n = min(TILE, len - s0);
    var tileMax = -3.4e38;
    for (var s = lid; s < n; s += 64u) {
      let ko = (s0 + s) * kvDim + g * p.hd;
      var d = 0.0;
      for (var i = 0u; i < p.hd; i++) { d += q[qo + i] * k[ko + i]; }
      d *= p.scale;
      sc[s] = d;
      tileMax = max(tileMax, d);
    }
    // The reductions stay inline: with them in helper functions (barriers inside) llvmpipe returned
    // wrong sums as soon as a thread without output channels held a score (measured).
    red[lid] = tileMax;
    workgroupBarrier();
    for (var stride = 32u; stride > 0u; stride >>= 1u) {
      if (lid < stride) { red[lid] = max(red[lid], red[lid + stride]); }
      workgroupBarrier();
    }
    let mNew = max(m, red[0]);
    workgroupBarrier();
    let alpha = exp(m - mNew);
    var part = 0.0;
    for (var s = lid; s < n; s += 64u) { let e = exp(sc[s] - mNew); sc[s] = e; part += e; }
    red[lid] = part;
    workgroupBarrier();
    for (var stride = 32u; stride > 0u; stride >>= 1u) {
      if (lid < stride) { red[lid] += red[lid + stride]; }
      workgroupBarrier();
    }
    l = l * alpha + red[0];
    workgroupBarrier();
    for (var j = 0u; j < CH; j++) {
      let i = lid + 64u * j;
      if (i < p.hd) {
        var a = acc[j] * alpha;
        for (var s = 0u; s < n; s++) { a += sc[s] * v[(s0 + s) * kvDim + g * p.hd + i]; }
        acc[j] = a;
      }
    }
    m = mNew;
    workgroupBarrier(); // every thread is done with sc before the next tile overwrites it
  }
  let inv = 1.0 / l;
  for (var j = 0u; j < CH; j++) {
    let i = lid + 64u * j;
    if (i < p.hd) { out[qo + i] = acc[j] * inv; }
  }
}`;

/** gate ← silu(gate) ⊙ up. */
export const SWIGLU_WGSL = /* wgsl */ `
struct P { n: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) { return; }
  let g = gate[i];
  gate[i] = g / (1.0 + exp(-g)) * up[i];
}`;

/** x[t] = embedding[ids[t]]. */
export const EMBED_WGSL = /* wgsl */ `
struct P { T: u32, D: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> table: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.T * p.D) { return; }
  let t = i / p.D;
  x[i] = table[ids[t] * p.D + (i % p.D)];
}`;

/**
 * Y[T, N] (= or +=) X[T, K]·W[N, K]ᵀ for a few rows (decode): MATMUL_WGSL's 64-row tiles would
 * waste 63/64 of their work on one token. One 64-thread workgroup per (8 outputs, row): 8 lanes per
 * output stride over K, then a reduction over the lanes in workgroup memory.
 */
export const GEMV_WGSL = /* wgsl */ `
struct P { T: u32, K: u32, N: u32, accumulate: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
var<workgroup> part: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row = wid.y;
  let n = wid.x * 8u + lid.x / 8u;
  let lane = lid.x % 8u;
  var s = 0.0;
  if (n < p.N) {
    for (var k = lane; k < p.K; k += 8u) { s += x[row * p.K + k] * w[n * p.K + k]; }
  }
  part[lid.x] = s;
  workgroupBarrier();
  for (var stride = 4u; stride > 0u; stride >>= 1u) {
    if (lane < stride) { part[lid.x] += part[lid.x + stride]; }
    workgroupBarrier();
  }
  if (lane == 0u && n < p.N) {
    let o = row * p.N + n;
    if (p.accumulate != 0u) { y[o] = y[o] + part[lid.x]; } else { y[o] = part[lid.x]; }
  }
}`;
