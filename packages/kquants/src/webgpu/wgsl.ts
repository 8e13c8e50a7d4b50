// WGSL dequantization kernels: one invocation per weight, reading the block bytes from an
// array<u32> (blocks of 34 or 18 bytes are not word-aligned, so everything goes through byte()).
// Values are built exactly as on the CPU: f16 scales decoded with integer ops (no reliance on
// unpack2x16float's subnormal handling), and every product of a scale and a small integer is exact
// in float32, so each weight is one correctly rounded operation at most — bit-identical to the CPU.
import type { KnownFormat } from '../formats.js';

const COMMON = /* wgsl */ `
@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> params: vec4<u32>; // n, workgroups along x

fn byte(i: u32) -> u32 { return (src[i >> 2u] >> ((i & 3u) * 8u)) & 255u; }
fn u16at(i: u32) -> u32 { return byte(i) | (byte(i + 1u) << 8u); }
fn sbyte(i: u32) -> i32 { let b = i32(byte(i)); return select(b, b - 256, b >= 128); }

// float32 value of half bits, exact for every finite half (subnormals included).
fn half(h: u32) -> f32 {
  let sign = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 31u;
  let m = h & 1023u;
  if (e == 0u) {
    let v = f32(m) * 5.9604644775390625e-8; // m · 2^-24, exact
    return bitcast<f32>(bitcast<u32>(v) | sign);
  }
  if (e == 31u) { return bitcast<f32>(sign | 0x7f800000u | (m << 13u)); }
  return bitcast<f32>(sign | ((e + 112u) << 23u) | (m << 13u));
}

// 6-bit scale and min of sub-block j of a Q4_K / Q5_K block whose scale bytes start at s.
fn kscale(s: u32, j: u32) -> u32 {
  if (j < 4u) { return byte(s + j) & 63u; }
  return (byte(s + j + 4u) & 15u) | ((byte(s + j - 4u) >> 6u) << 4u);
}
fn kmin(s: u32, j: u32) -> u32 {
  if (j < 4u) { return byte(s + j + 4u) & 63u; }
  return (byte(s + j + 4u) >> 4u) | ((byte(s + j) >> 6u) << 4u);
}
`;

/** value(i): weight i of the tensor, for each format. */
const VALUE: Partial<Record<KnownFormat, string>> = {
  Q8_0: `fn value(i: u32) -> f32 {
  let o = (i / 32u) * 34u;
  return half(u16at(o)) * f32(sbyte(o + 2u + (i % 32u)));
}`,
  Q4_0: `fn value(i: u32) -> f32 {
  let o = (i / 32u) * 18u; let j = i % 32u;
  let q = (byte(o + 2u + (j % 16u)) >> ((j / 16u) * 4u)) & 15u;
  return f32(i32(q) - 8) * half(u16at(o));
}`,
  Q4_1: `fn value(i: u32) -> f32 {
  let o = (i / 32u) * 20u; let j = i % 32u;
  let q = (byte(o + 4u + (j % 16u)) >> ((j / 16u) * 4u)) & 15u;
  return f32(q) * half(u16at(o)) + half(u16at(o + 2u));
}`,
  Q5_0: `fn value(i: u32) -> f32 {
  let o = (i / 32u) * 22u; let j = i % 32u;
  let hi = (byte(o + 2u + j / 8u) >> (j % 8u)) & 1u;
  let q = ((byte(o + 6u + (j % 16u)) >> ((j / 16u) * 4u)) & 15u) | (hi << 4u);
  return f32(i32(q) - 16) * half(u16at(o));
}`,
  Q5_1: `fn value(i: u32) -> f32 {
  let o = (i / 32u) * 24u; let j = i % 32u;
  let hi = (byte(o + 4u + j / 8u) >> (j % 8u)) & 1u;
  let q = ((byte(o + 8u + (j % 16u)) >> ((j / 16u) * 4u)) & 15u) | (hi << 4u);
  return f32(q) * half(u16at(o)) + half(u16at(o + 2u));
}`,
  Q4_K: `fn value(i: u32) -> f32 {
  let o = (i / 256u) * 144u; let r = i % 256u; let j = r / 32u; let l = r % 32u;
  let q = (byte(o + 16u + 32u * (j / 2u) + l) >> ((j % 2u) * 4u)) & 15u;
  let d1 = half(u16at(o)) * f32(kscale(o + 4u, j));
  let m1 = half(u16at(o + 2u)) * f32(kmin(o + 4u, j));
  return d1 * f32(q) - m1;
}`,
  Q5_K: `fn value(i: u32) -> f32 {
  let o = (i / 256u) * 176u; let r = i % 256u; let j = r / 32u; let l = r % 32u;
  let lo = (byte(o + 48u + 32u * (j / 2u) + l) >> ((j % 2u) * 4u)) & 15u;
  let q = lo | (((byte(o + 16u + l) >> j) & 1u) << 4u);
  let d1 = half(u16at(o)) * f32(kscale(o + 4u, j));
  let m1 = half(u16at(o + 2u)) * f32(kmin(o + 4u, j));
  return d1 * f32(q) - m1;
}`,
  Q6_K: `fn value(i: u32) -> f32 {
  let o = (i / 256u) * 210u; let r = i % 256u;
  let h = r / 128u; let k = (r % 128u) / 32u; let l = r % 32u;
  let lo = (byte(o + 64u * h + l + 32u * (k % 2u)) >> ((k / 2u) * 4u)) & 15u;
  let hi = (byte(o + 128u + 32u * h + l) >> (2u * k)) & 3u;
  let q = i32(lo | (hi << 4u)) - 32;
  return half(u16at(o + 208u)) * f32(sbyte(o + 192u + r / 16u)) * f32(q);
}`,
  F16: `fn value(i: u32) -> f32 { return half(u16at(2u * i)); }`,
  BF16: `fn value(i: u32) -> f32 { return bitcast<f32>(u16at(2u * i) << 16u); }`,
};

export const WORKGROUP = 64;

/** Formats with a WebGPU dequantization kernel. */
export const WEBGPU_DEQUANT_FORMATS = Object.keys(VALUE) as KnownFormat[];

export function dequantShader(type: KnownFormat): string | undefined {
  const v = VALUE[type];
  if (!v) return undefined;
  return `${COMMON}
${v}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * params.y) * ${WORKGROUP}u + lid;
  if (i >= params.x) { return; }
  dst[i] = value(i);
}
`;
}
