// gpu.js dequantization kernels (correctness first). gpu.js compiles these from their source text,
// so they use only plain arithmetic: block bytes arrive as numbers 0..255, bit fields are taken with
// Math.floor and %, and halves are decoded by `halfValue` (registered with gpu.addFunction), which
// builds 2^e by repeated doubling so that no backend's pow() can round.
// biome-ignore-all lint: kernel bodies are gpu.js source, written in its restricted JS subset

/** float value of half bits h (0..65535), exact for every finite half. */
export function halfValue(h: number): number {
  let s = 1.0;
  if (h >= 32768) s = -1.0;
  const a = h % 32768;
  const e = Math.floor(a / 1024);
  const m = a % 1024;
  if (e === 0) return s * m * 0.000000059604644775390625;
  let p = 1.0;
  for (let k = 0; k < 31; k++) {
    if (k < e) p = p * 2.0;
  }
  return s * (1024.0 + m) * p * 0.0000000298023223876953125; // · 2^-25
}

/** Q8_0: weight i = d · int8. */
export function q8_0Kernel(this: any, b: number[]): number {
  const i = this.thread.x;
  const o = Math.floor(i / 32) * 34;
  let q = b[o + 2 + (i % 32)];
  if (q >= 128) q = q - 256;
  return halfValue(b[o] + b[o + 1] * 256) * q;
}

/** Q4_K: weight i = d·scale_j·q − dmin·min_j. */
export function q4_kKernel(this: any, b: number[]): number {
  const i = this.thread.x;
  const o = Math.floor(i / 256) * 144;
  const r = i % 256;
  const j = Math.floor(r / 32);
  const l = r % 32;
  let sc = 0;
  let mn = 0;
  if (j < 4) {
    sc = b[o + 4 + j] % 64;
    mn = b[o + 8 + j] % 64;
  } else {
    sc = (b[o + 8 + j] % 16) + Math.floor(b[o + j] / 64) * 16;
    mn = Math.floor(b[o + 8 + j] / 16) + Math.floor(b[o + 4 + j] / 64) * 16;
  }
  const byte = b[o + 16 + 32 * Math.floor(j / 2) + l];
  let q = byte % 16;
  if (j % 2 === 1) q = Math.floor(byte / 16);
  const d1 = halfValue(b[o] + b[o + 1] * 256) * sc;
  const m1 = halfValue(b[o + 2] + b[o + 3] * 256) * mn;
  return d1 * q - m1;
}

/** Q6_K: weight i = d · scale_(i/16) · (q − 32). */
export function q6_kKernel(this: any, b: number[]): number {
  const i = this.thread.x;
  const o = Math.floor(i / 256) * 210;
  const r = i % 256;
  const h = Math.floor(r / 128);
  const k = Math.floor((r % 128) / 32);
  const l = r % 32;
  const lowByte = b[o + 64 * h + l + 32 * (k % 2)];
  let low = lowByte % 16;
  if (k >= 2) low = Math.floor(lowByte / 16);
  let div = 1;
  if (k === 1) div = 4;
  if (k === 2) div = 16;
  if (k === 3) div = 64;
  const high = Math.floor(b[o + 128 + 32 * h + l] / div) % 4;
  let sc = b[o + 192 + Math.floor(r / 16)];
  if (sc >= 128) sc = sc - 256;
  return halfValue(b[o + 208] + b[o + 209] * 256) * sc * (low + 16 * high - 32);
}
