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
 * Causal grouped-query attention for prefill, as two GEMMs per KV head so that it runs on the SIMD
 * kernel: the `group` query heads sharing KV head g are stacked into Q_g [group·T, hd] (pre-scaled
 * by 1/√hd), S_g = Q_g·K_gᵀ over all S stored positions (padded to a multiple of 4 with zero rows),
 * a masked softmax per row (query t sees positions ≤ storeBase + t), and O_g = P·V_g computed as
 * P·(V_gᵀ)ᵀ. This does the full S columns (about twice the causal work) at ~10× the scalar speed.
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
  const S = storeBase + T;
  const spad = (S + 3) & ~3;
  const rows = group * T;
  s.ensure(rows, spad, hd);
  const { qh, kh, vt, sc, oh } = s;
  const scale = 1 / Math.sqrt(hd);
  const ops = wasmOps();
  for (let g = 0; g < nKvHeads; g++) {
    // K_g [spad, hd] and V_gᵀ [hd, spad], zero-padded.
    for (let p = 0; p < S; p++) {
      const src = p * kvDim + g * hd;
      for (let i = 0; i < hd; i++) {
        kh[p * hd + i] = kStore[src + i]!;
        vt[i * spad + p] = vStore[src + i]!;
      }
    }
    for (let p = S; p < spad; p++) {
      for (let i = 0; i < hd; i++) {
        kh[p * hd + i] = 0;
        vt[i * spad + p] = 0;
      }
    }
    for (let j = 0; j < group; j++) {
      const h = g * group + j;
      for (let t = 0; t < T; t++) {
        const src = t * qDim + h * hd;
        const dst = (j * T + t) * hd;
        for (let i = 0; i < hd; i++) qh[dst + i] = q[src + i]! * scale;
      }
    }
    gemm(qh, rows, hd, kh, spad, sc);
    // Masked softmax, row by row; masked entries become exact zeros for the P·V product.
    if (ops) ops.softmaxRows(sc, rows, spad, T, storeBase);
    else maskedSoftmax(sc, rows, spad, T, storeBase);
    gemm(sc, rows, spad, vt, hd, oh);
    for (let j = 0; j < group; j++) {
      const h = g * group + j;
      for (let t = 0; t < T; t++) {
        const src = (j * T + t) * hd;
        const dst = t * qDim + h * hd;
        for (let i = 0; i < hd; i++) out[dst + i] = oh[src + i]!;
      }
    }
  }
}

/** The JS version of WasmOps.softmaxRows (where WebAssembly SIMD is unavailable). */
function maskedSoftmax(sc: Float32Array, rows: number, spad: number, T: number, storeBase: number): void {
  for (let r = 0; r < rows; r++) {
    const t = r % T;
    const len = storeBase + t + 1;
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
