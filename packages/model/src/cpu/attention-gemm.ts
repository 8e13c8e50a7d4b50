import { fastExp } from './fast-exp.js';
import type { GemmFn } from './forward.js';
import { wasmOps } from './wasm/wasm-ops.js';

/** Scratch for `attentionByGemm`, grown on demand. */
export class AttentionScratch {
  qh = new Float32Array(0);
  kh = new Float32Array(0);
  vt = new Float32Array(0);
  sc = new Float32Array(0);
  oh = new Float32Array(0);

  ensure(rows: number, spad: number, hd: number): void {
    if (this.qh.length < rows * hd) {
      this.qh = new Float32Array(rows * hd);
      this.oh = new Float32Array(rows * hd);
    }
    if (this.kh.length < spad * hd) {
      this.kh = new Float32Array(spad * hd);
      this.vt = new Float32Array(spad * hd);
    }
    if (this.sc.length < rows * spad) this.sc = new Float32Array(rows * spad);
  }
}

/**
 * Causal grouped-query attention for prefill, as GEMMs on the SIMD kernel. For KV head g the
 * `group` query heads sharing it are stacked position-major into Q_g [T·group, hd] (row
 * t·group + j = query head g·group + j at position t, pre-scaled by 1/√hd). Positions are taken in
 * chunks [t0, t1): the chunk's queries only see stored positions < S = storeBase + t1, so
 *   S_c = Q_c·K_g[0:S]ᵀ, masked softmax per row (position t sees ≤ storeBase + t), O_c = P_c·V_g[0:S]
 * with S padded to a multiple of 4 by zero rows of K/V. Chunking skips ~40 % of the score/value
 * products that a single full-width GEMM would compute and mask away.
 * Same contract as ops.attention; kStore/vStore are [positions, kvDim].
 */
export function attentionByGemm(
  gemm: GemmFn,
  s: AttentionScratch,
  q: Float32Array,
  kStore: Float32Array,
  vStore: Float32Array,
  out: Float32Array,
  T: number,
  storeBase: number,
  nHeads: number,
  nKvHeads: number,
  hd: number,
): void {
  const qDim = nHeads * hd;
  const kvDim = nKvHeads * hd;
  const group = nHeads / nKvHeads;
  const gw = group * hd; // one position's query heads of one KV group, contiguous in q and out
  const S = storeBase + T;
  const spad = (S + 3) & ~3;
  const rows = group * T;
  s.ensure(rows, spad, hd);
  const { qh, kh, vt, sc, oh } = s;
  const scale = 1 / Math.sqrt(hd);
  const ops = wasmOps();
  // ~8 chunks, at least 16 positions each (smaller GEMMs lose more to their edges than they save).
  const chunk = Math.max(16, Math.ceil(T / 8 / 4) * 4);
  for (let g = 0; g < nKvHeads; g++) {
    // K_g [spad, hd], zero-padded.
    for (let p = 0; p < S; p++) {
      const src = p * kvDim + g * hd;
      for (let i = 0; i < hd; i++) kh[p * hd + i] = kStore[src + i]!;
    }
    kh.fill(0, S * hd, spad * hd);
    // Q_g, position-major, scaled.
    for (let t = 0; t < T; t++) {
      const src = t * qDim + g * gw;
      const dst = t * gw;
      for (let i = 0; i < gw; i++) qh[dst + i] = q[src + i]! * scale;
    }
    for (let t0 = 0; t0 < T; t0 += chunk) {
      const t1 = Math.min(T, t0 + chunk);
      const Sc = storeBase + t1;
      const sp = (Sc + 3) & ~3;
      const r0 = t0 * group;
      const rc = (t1 - t0) * group;
      // V_g[0:Sc]ᵀ [hd, sp], zero-padded (rebuilt per chunk: the GEMM wants rows of length sp).
      for (let p = 0; p < Sc; p++) {
        const src = p * kvDim + g * hd;
        for (let i = 0; i < hd; i++) vt[i * sp + p] = vStore[src + i]!;
      }
      for (let p = Sc; p < sp; p++) for (let i = 0; i < hd; i++) vt[i * sp + p] = 0;
      gemm(qh.subarray(r0 * hd), rc, hd, kh, sp, sc);
      // Masked softmax; masked entries become exact zeros for the P·V product.
      if (ops) ops.softmaxRows(sc, rc, sp, group, storeBase + t0);
      else maskedSoftmax(sc, rc, sp, group, storeBase + t0);
      gemm(sc, rc, sp, vt, hd, oh);
      for (let t = t0; t < t1; t++) {
        const src = (t - t0) * gw;
        const dst = t * qDim + g * gw;
        for (let i = 0; i < gw; i++) out[dst + i] = oh[src + i]!;
      }
    }
  }
}

/** The JS version of WasmOps.softmaxRows (where WebAssembly SIMD is unavailable). */
function maskedSoftmax(sc: Float32Array, rows: number, spad: number, group: number, base: number): void {
  for (let r = 0; r < rows; r++) {
    const len = base + Math.floor(r / group) + 1;
    const o = r * spad;
    let max = Number.NEGATIVE_INFINITY;
    for (let p = 0; p < len; p++) if (sc[o + p]! > max) max = sc[o + p]!;
    let sum = 0;
    for (let p = 0; p < len; p++) {
      const e = fastExp(sc[o + p]! - max);
      sc[o + p] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let p = 0; p < len; p++) sc[o + p] = sc[o + p]! * inv;
    for (let p = len; p < spad; p++) sc[o + p] = 0;
  }
}
