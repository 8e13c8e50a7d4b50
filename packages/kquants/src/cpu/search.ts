// The scale searches behind llama.cpp's K-quants (ggml-quants.c, non-imatrix reference path), in
// float32 arithmetic step by step so that the chosen codes match llama.cpp's bit for bit.
//
// `fused` selects how `a*b + c` is evaluated: false = two roundings (strict C), true = one fused
// multiply-add wherever GCC's default contraction fuses one (a product whose only use is an add).
import * as fp32Mod from './fp32.js';

// Module-local bindings: test runners rewrite imports into namespace property reads, which
// the JIT optimises poorly inside hot loops.
const { fmaf, nearestInt } = fp32Mod;
const fr = Math.fround;

const GROUP_MAX_EPS = fr(1e-15);
const TENTH = fr(0.1);

/** a·b + c in float32, fused or with two roundings. */
function madd(fused: boolean, a: number, b: number, c: number): number {
  return fused ? fmaf(a, b, c) : fr(fr(a * b) + c);
}

/**
 * Symmetric codes in [−nmax, nmax−1] for n values x[xo..] (make_qx_quants, weights x² when qw is
 * null — rmse_type 1 — or qw[i] when given): tries 19 scales around nmax/max and keeps the one that
 * maximises (Σw·x·l)²/Σw·l², the least-squares scale for fixed codes. Writes L[lo+i] = l + nmax and
 * returns the scale.
 */
export function makeQxQuants(
  n: number,
  nmax: number,
  x: Float32Array,
  xo: number,
  L: Uint8Array,
  lo: number,
  fused: boolean,
  qw: Float32Array | null = null,
  qwo = 0,
): number {
  if (!fused) return makeQxQuantsStrict(n, nmax, x, xo, L, lo, qw, qwo);
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[xo + i]!);
    if (ax > amax) {
      amax = ax;
      max = x[xo + i]!;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lo, lo + n);
    return 0;
  }
  let iscale = fr(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i]!;
    let l = nearestInt(fr(iscale * xi));
    l = Math.max(-nmax, Math.min(nmax - 1, l));
    L[lo + i] = l + nmax;
    const w = qw ? qw[qwo + i]! : fr(xi * xi);
    sumlx = madd(fused, fr(w * xi), l, sumlx);
    suml2 = madd(fused, fr(w * l), l, suml2);
  }
  let scale = suml2 !== 0 ? fr(sumlx / suml2) : 0;
  let best = fr(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = fr(-madd(fused, TENTH, is, nmax) / max);
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i]!;
      let l = nearestInt(fr(iscale * xi));
      l = Math.max(-nmax, Math.min(nmax - 1, l));
      const w = qw ? qw[qwo + i]! : fr(xi * xi);
      sumlx = madd(fused, fr(w * xi), l, sumlx);
      suml2 = madd(fused, fr(w * l), l, suml2);
    }
    if (suml2 > 0 && fr(sumlx * sumlx) > fr(best * suml2)) {
      for (let i = 0; i < n; i++) {
        const l = nearestInt(fr(iscale * x[xo + i]!));
        L[lo + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, l));
      }
      scale = fr(sumlx / suml2);
      best = fr(scale * sumlx);
    }
  }
  return scale;
}

/**
 * Asymmetric codes in [0, nmax] with x ≈ scale·l − min (make_qkx2_quants, weighted squared error):
 * starts from the min/max grid, then for nstep+1 trial grids (nmax + rmin + rdelta·is)/(max − min)
 * solves the weighted least-squares scale and offset for the rounded codes and keeps the best.
 * Writes L[lo..lo+n), stores −min (≥ 0) at mins[mi] and returns the scale.
 */
export function makeQkx2Quants(
  n: number,
  nmax: number,
  x: Float32Array,
  xo: number,
  weights: Float32Array,
  L: Uint8Array,
  lo: number,
  mins: Float32Array,
  mi: number,
  Laux: Uint8Array,
  rmin: number,
  rdelta: number,
  nstep: number,
  fused: boolean,
): number {
  if (!fused)
    return makeQkx2QuantsStrict(n, nmax, x, xo, weights, L, lo, mins, mi, Laux, rmin, rdelta, nstep);
  let min = x[xo]!;
  let max = x[xo]!;
  let sumW = weights[0]!;
  let sumX = fr(sumW * x[xo]!);
  for (let i = 1; i < n; i++) {
    const xi = x[xo + i]!;
    if (xi < min) min = xi;
    if (xi > max) max = xi;
    const w = weights[i]!;
    sumW = fr(sumW + w);
    sumX = madd(fused, w, xi, sumX);
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0, lo, lo + n);
    mins[mi] = -min;
    return 0;
  }
  let iscale = fr(nmax / fr(max - min));
  let scale = fr(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i]!;
    const l = Math.max(0, Math.min(nmax, nearestInt(fr(iscale * fr(xi - min)))));
    L[lo + i] = l;
    let diff = fr(madd(fused, scale, l, min) - xi);
    diff = fr(diff * diff);
    bestError = madd(fused, weights[i]!, diff, bestError);
  }
  if (nstep < 1) {
    mins[mi] = -min;
    return scale;
  }
  for (let is = 0; is <= nstep; is++) {
    // min changes when a trial wins, and later trials use the new one (as in llama.cpp).
    iscale = fr(fr(madd(fused, rdelta, is, rmin) + nmax) / fr(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i]!;
      const l = Math.max(0, Math.min(nmax, nearestInt(fr(iscale * fr(xi - min)))));
      Laux[i] = l;
      // w·l is shared by the three sums (GCC computes it once, so it is never fused).
      const wl = fr(weights[i]! * l);
      sumL = fr(sumL + wl);
      sumL2 = madd(fused, wl, l, sumL2);
      sumXL = madd(fused, wl, xi, sumXL);
    }
    const D = madd(fused, sumW, sumL2, -fr(sumL * sumL));
    if (D > 0) {
      let thisScale = fr(madd(fused, sumW, sumXL, -fr(sumX * sumL)) / D);
      let thisMin = fr(madd(fused, sumL2, sumX, -fr(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = fr(sumXL / sumL2);
      }
      let curError = 0;
      for (let i = 0; i < n; i++) {
        let diff = fr(madd(fused, thisScale, Laux[i]!, thisMin) - x[xo + i]!);
        diff = fr(diff * diff);
        curError = madd(fused, weights[i]!, diff, curError);
      }
      if (curError < bestError) {
        for (let i = 0; i < n; i++) L[lo + i] = Laux[i]!;
        bestError = curError;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  mins[mi] = -min;
  return scale;
}

// x − min for the current min, cached across trials (it changes only when a trial wins).
const xmScratch = new Float64Array(256);

/**
 * makeQkx2Quants with two roundings per multiply-add, written out flat: the hot loop of K-quant
 * quantization (same operations, same order, same results as the general version with fused=false).
 */
function makeQkx2QuantsStrict(
  n: number,
  nmax: number,
  x: Float32Array,
  xo: number,
  weights: Float32Array,
  L: Uint8Array,
  lo: number,
  mins: Float32Array,
  mi: number,
  Laux: Uint8Array,
  rmin: number,
  rdelta: number,
  nstep: number,
): number {
  const xm = xmScratch;
  let min = x[xo]!;
  let max = x[xo]!;
  let sumW = weights[0]!;
  let sumX = fr(sumW * x[xo]!);
  for (let i = 1; i < n; i++) {
    const xi = x[xo + i]!;
    if (xi < min) min = xi;
    if (xi > max) max = xi;
    const w = weights[i]!;
    sumW = fr(sumW + w);
    sumX = fr(sumX + fr(w * xi));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0, lo, lo + n);
    mins[mi] = -min;
    return 0;
  }
  for (let i = 0; i < n; i++) xm[i] = fr(x[xo + i]! - min);
  let iscale = fr(nmax / fr(max - min));
  let scale = fr(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    let l = fr(fr(iscale * xm[i]!) + 12582912) - 12582912;
    l = l < 0 ? 0 : l > nmax ? nmax : l;
    L[lo + i] = l;
    let diff = fr(fr(fr(scale * l) + min) - x[xo + i]!);
    diff = fr(diff * diff);
    bestError = fr(bestError + fr(weights[i]! * diff));
  }
  if (nstep < 1) {
    mins[mi] = -min;
    return scale;
  }
  for (let is = 0; is <= nstep; is++) {
    iscale = fr(fr(fr(rmin + fr(rdelta * is)) + nmax) / fr(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      let l = fr(fr(iscale * xm[i]!) + 12582912) - 12582912;
      l = l < 0 ? 0 : l > nmax ? nmax : l;
      Laux[i] = l;
      const wl = fr(weights[i]! * l);
      sumL = fr(sumL + wl);
      sumL2 = fr(sumL2 + fr(wl * l));
      sumXL = fr(sumXL + fr(wl * x[xo + i]!));
    }
    const D = fr(fr(sumW * sumL2) - fr(sumL * sumL));
    if (D > 0) {
      let thisScale = fr(fr(fr(sumW * sumXL) - fr(sumX * sumL)) / D);
      let thisMin = fr(fr(fr(sumL2 * sumX) - fr(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = fr(sumXL / sumL2);
      }
      let curError = 0;
      for (let i = 0; i < n; i++) {
        let diff = fr(fr(fr(thisScale * Laux[i]!) + thisMin) - x[xo + i]!);
        diff = fr(diff * diff);
        curError = fr(curError + fr(weights[i]! * diff));
      }
      if (curError < bestError) {
        for (let i = 0; i < n; i++) L[lo + i] = Laux[i]!;
        bestError = curError;
        scale = thisScale;
        if (thisMin !== min) {
          min = thisMin;
          for (let i = 0; i < n; i++) xm[i] = fr(x[xo + i]! - min);
        }
      }
    }
  }
  mins[mi] = -min;
  return scale;
}

const wScratch = new Float64Array(256);
const wxScratch = new Float64Array(256);

/** makeQxQuants with two roundings per multiply-add, flat (the Q6_K hot loop). */
function makeQxQuantsStrict(
  n: number,
  nmax: number,
  x: Float32Array,
  xo: number,
  L: Uint8Array,
  lo: number,
  qw: Float32Array | null,
  qwo: number,
): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[xo + i]!);
    if (ax > amax) {
      amax = ax;
      max = x[xo + i]!;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lo, lo + n);
    return 0;
  }
  const W = wScratch;
  const WX = wxScratch;
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i]!;
    W[i] = qw ? qw[qwo + i]! : fr(xi * xi);
    WX[i] = fr(W[i]! * xi);
  }
  const lo1 = -nmax;
  const hi1 = nmax - 1;
  let iscale = fr(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    let l = fr(fr(iscale * x[xo + i]!) + 12582912) - 12582912;
    l = l < lo1 ? lo1 : l > hi1 ? hi1 : l;
    L[lo + i] = l + nmax;
    sumlx = fr(sumlx + fr(WX[i]! * l));
    suml2 = fr(suml2 + fr(fr(W[i]! * l) * l));
  }
  let scale = suml2 !== 0 ? fr(sumlx / suml2) : 0;
  let best = fr(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = fr(-fr(nmax + fr(TENTH * is)) / max);
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      let l = fr(fr(iscale * x[xo + i]!) + 12582912) - 12582912;
      l = l < lo1 ? lo1 : l > hi1 ? hi1 : l;
      sumlx = fr(sumlx + fr(WX[i]! * l));
      suml2 = fr(suml2 + fr(fr(W[i]! * l) * l));
    }
    if (suml2 > 0 && fr(sumlx * sumlx) > fr(best * suml2)) {
      for (let i = 0; i < n; i++) {
        let l = fr(fr(iscale * x[xo + i]!) + 12582912) - 12582912;
        l = l < lo1 ? lo1 : l > hi1 ? hi1 : l;
        L[lo + i] = l + nmax;
      }
      scale = fr(sumlx / suml2);
      best = fr(scale * sumlx);
    }
  }
  return scale;
}
