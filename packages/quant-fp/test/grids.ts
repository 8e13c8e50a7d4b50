// Test-only, independent of src/: decode a code from its bit fields, written from the format tables
// (OCP 8-bit FP spec, OCP MX spec for E2M1), and a brute-force nearest-value search with ties to even.
export interface Fmt {
  e: number;
  m: number;
  bias: number;
  kind: 'e4m3' | 'e5m2' | 'e2m1';
}
export const e4m3: Fmt = { e: 4, m: 3, bias: 7, kind: 'e4m3' };
export const e5m2: Fmt = { e: 5, m: 2, bias: 15, kind: 'e5m2' };
export const e2m1: Fmt = { e: 2, m: 1, bias: 1, kind: 'e2m1' };

export function decodeBits(f: Fmt, code: number): number {
  const bitsStr = code.toString(2).padStart(1 + f.e + f.m, '0');
  const s = bitsStr[0] === '1' ? -1 : 1;
  const E = Number.parseInt(bitsStr.slice(1, 1 + f.e), 2);
  const M = Number.parseInt(bitsStr.slice(1 + f.e), 2);
  const allOnes = E === 2 ** f.e - 1;
  if (f.kind === 'e5m2' && allOnes) return M === 0 ? s * Infinity : Number.NaN;
  if (f.kind === 'e4m3' && allOnes && M === 2 ** f.m - 1) return Number.NaN;
  const frac = M / 2 ** f.m;
  return E === 0 ? s * frac * 2 ** (1 - f.bias) : s * (1 + frac) * 2 ** (E - f.bias);
}

/** All finite codes with their values. */
export function finiteCodes(f: Fmt): { code: number; value: number }[] {
  const out: { code: number; value: number }[] = [];
  for (let c = 0; c < 2 ** (1 + f.e + f.m); c++) {
    const v = decodeBits(f, c);
    if (Number.isFinite(v)) out.push({ code: c, value: v });
  }
  return out;
}

/** Nearest finite value to v (saturating); among equidistant candidates the one with an even code. */
export function nearest(f: Fmt, v: number): number {
  let best = Number.NaN;
  let bestD = Infinity;
  let bestCode = -1;
  for (const { code, value } of finiteCodes(f)) {
    const d = Math.abs(value - v);
    if (d < bestD || (d === bestD && (bestCode & 1) === 1 && (code & 1) === 0 && value !== best)) {
      bestD = d;
      best = value;
      bestCode = code;
    }
  }
  return best;
}
