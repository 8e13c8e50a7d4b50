import { Rng } from '@nq/core';
import { describe, expect, it } from 'vitest';
import {
  blockedScratchDoubles,
  choleskyLowerBlocked,
  choleskyLowerInPlace,
  F64Workspace,
  gptqQuantize,
  hessianOf,
  lowerInverseBlocked,
  type Operand,
  setF64Threads,
  upperCholeskyOfInverse,
  upperCholeskyOfInverseBlocked,
  wasmF64Available,
} from '../src/index.js';
import { correlatedInputs } from './helpers.js';

/** A = B·Bᵀ/n + 0.1·I with B ~ N(0,1): symmetric positive definite, moderately conditioned. */
function randomSpd(n: number, seed: number): Float64Array {
  const b = new Rng(seed).normals(n * n);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += b[i * n + k]! * b[j * n + k]!;
      a[i * n + j] = a[j * n + i] = s / n + (i === j ? 0.1 : 0);
    }
  }
  return a;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Factors a copy of `a` with the blocked routine; returns L (n × n) or the failing pivot. */
function blockedCholesky(a: Float64Array, n: number, wasm: boolean): Float64Array | number {
  const ws = new F64Workspace(n * n + blockedScratchDoubles(n), n, { wasm });
  const off = ws.alloc(n * n);
  const scratch = ws.alloc(blockedScratchDoubles(n));
  ws.view(off, n * n).set(a);
  const bad = choleskyLowerBlocked(ws, off, n, scratch);
  return bad >= 0 ? bad : ws.view(off, n * n).slice();
}

const modes = wasmF64Available() ? [true, false] : [false];

describe('F64Workspace.gemmSub', () => {
  // C −= A·B against a plain triple loop, with strides (a transposed, negated operand), odd edges
  // and a depth over one 256-step chunk
  it.each(modes)('matches the definition on odd shapes, strided/negated operands (wasm %s)', (wasm) => {
    const [m, n, k] = [13, 22, 301];
    const rng = new Rng(7);
    const aT = rng.normals(k * m); // A stored transposed: A[i, p] = aT[p·m + i]
    const b = rng.normals(k * (n + 3)); // B with row stride n + 3
    const c0 = rng.normals(m * (n + 1)); // C with row stride n + 1
    const ws = new F64Workspace(m * (n + 1), n, { wasm });
    const off = ws.alloc(m * (n + 1));
    ws.view(off, c0.length).set(c0);
    const A: Operand = { data: Float64Array.from(aT), off: 0, rs: 1, cs: m, neg: true };
    const B: Operand = { data: Float64Array.from(b), off: 0, rs: n + 3, cs: 1 };
    ws.gemmSub(off, n + 1, m, n, k, A, B);
    const got = ws.view(off, c0.length);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j <= n; j++) {
        let s = c0[i * (n + 1) + j]!;
        if (j < n) for (let p = 0; p < k; p++) s += aT[p * m + i]! * b[p * (n + 3) + j]!; // −(−A)·B
        expect(Math.abs(got[i * (n + 1) + j]! - s)).toBeLessThan(1e-11);
      }
    }
  });

  it.each(modes)('lowerB skips only zeros; lowerC updates every j ≤ i (wasm %s)', (wasm) => {
    const [m, n] = [18, 261]; // n = k: B is n × n lower triangular
    const rng = new Rng(8);
    const a = Float64Array.from(rng.normals(m * n));
    const bl = Float64Array.from(rng.normals(n * n));
    for (let p = 0; p < n; p++) for (let j = p + 1; j < n; j++) bl[p * n + j] = 0;
    const ws = new F64Workspace(m * n + n * n, n, { wasm });
    const c = ws.alloc(m * n);
    ws.gemmSub(
      c,
      n,
      m,
      n,
      n,
      { data: a, off: 0, rs: n, cs: 1 },
      { data: bl, off: 0, rs: n, cs: 1 },
      { lowerB: true },
    );
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < n; p++) s -= a[i * n + p]! * bl[p * n + j]!;
        expect(Math.abs(ws.mem[c + i * n + j]! - s)).toBeLessThan(1e-11);
      }
    }
    // lowerC: C (n × n) −= A·Aᵀ, only j ≤ i is promised
    const sq = 70;
    const c2 = ws.alloc(sq * sq);
    ws.gemmSub(
      c2,
      sq,
      sq,
      sq,
      33,
      { data: a, off: 0, rs: 33, cs: 1 },
      { data: a, off: 0, rs: 1, cs: 33 },
      { lowerC: true },
    );
    for (let i = 0; i < sq; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let p = 0; p < 33; p++) s -= a[i * 33 + p]! * a[j * 33 + p]!;
        expect(Math.abs(ws.mem[c2 + i * sq + j]! - s)).toBeLessThan(1e-11);
      }
    }
  });
});

describe('blocked float64 Cholesky and triangular inverse', () => {
  // sizes around the 128-column panel and the 4-wide tiles
  const sizes = [1, 3, 4, 7, 128, 129, 261];

  it.each(
    modes,
  )('Cholesky: ‖L·Lᵀ − A‖/‖A‖ ≤ 1e-14 and equal to the unblocked factor to 1e-12 (wasm %s)', (wasm) => {
    for (const n of sizes) {
      const a = randomSpd(n, n);
      const l = blockedCholesky(a, n, wasm);
      if (typeof l === 'number') throw new Error(`unexpected failure at ${l} (n = ${n})`);
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) expect(l[i * n + j]).toBe(0);
      const llt = new Float64Array(n * n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let k = 0; k <= Math.min(i, j); k++) s += l[i * n + k]! * l[j * n + k]!;
          llt[i * n + j] = s;
        }
      expect(maxAbsDiff(llt, a) / maxAbs(a)).toBeLessThan(1e-14);
      const ref = Float64Array.from(a);
      expect(choleskyLowerInPlace(ref, n)).toBe(-1);
      expect(maxAbsDiff(l, ref) / maxAbs(ref)).toBeLessThan(1e-12);
    }
  });

  it.each(
    modes,
  )('triangular inverse: ‖L·X − I‖ ≤ 1e-12; U equals the unblocked upperCholeskyOfInverse to 1e-12 (wasm %s)', (wasm) => {
    for (const n of sizes) {
      const a = randomSpd(n, 100 + n);
      const ws = new F64Workspace(n * n + blockedScratchDoubles(n), n, { wasm });
      const off = ws.alloc(n * n);
      const scratch = ws.alloc(blockedScratchDoubles(n));
      ws.view(off, n * n).set(a);
      expect(choleskyLowerBlocked(ws, off, n, scratch)).toBe(-1);
      const l = ws.view(off, n * n).slice();
      lowerInverseBlocked(ws, off, n, scratch);
      const x = ws.view(off, n * n);
      let worst = 0;
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let k = 0; k < n; k++) s += l[i * n + k]! * x[k * n + j]!;
          worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
        }
      expect(worst).toBeLessThan(1e-12);
      const ref = upperCholeskyOfInverse(a, n);
      const got = upperCholeskyOfInverseBlocked(a, n, { wasm });
      if (!('u' in ref) || !('u' in got)) throw new Error('unexpected failure');
      expect(maxAbsDiff(got.u, ref.u) / maxAbs(ref.u)).toBeLessThan(1e-12);
    }
  });

  it.each(
    modes,
  )('a matrix that stops being positive definite at pivot k fails at k, like the unblocked one (wasm %s)', (wasm) => {
    const n = 200;
    for (const k of [0, 5, 128, 150, 199]) {
      const a = randomSpd(n, 3);
      // the pivot at k is A_kk − Σ_{j<k} L_kj² (L from rows/columns < k, which A_kk does not touch):
      // set A_kk so that it is −0.5
      const l = Float64Array.from(a);
      choleskyLowerInPlace(l, n);
      let s = 0;
      for (let j = 0; j < k; j++) s += l[k * n + j]! ** 2;
      a[k * n + k] = s - 0.5;
      expect(blockedCholesky(a, n, wasm)).toBe(k);
      expect(choleskyLowerInPlace(Float64Array.from(a), n)).toBe(k);
      // the U routine works on the reversed matrix: it reports the pivot the unblocked one does
      const ref = upperCholeskyOfInverse(a, n);
      const got = upperCholeskyOfInverseBlocked(a, n, { wasm });
      expect('failedAt' in got && 'failedAt' in ref && got.failedAt === ref.failedAt).toBe(true);
    }
  });

  it('GPTQ on an indefinite 200-column H takes the damping attempt the unblocked factorization predicts', () => {
    const n = 200;
    const h = hessianOf(correlatedInputs(400, n, 4)).data;
    let mean = 0;
    for (let i = 0; i < n; i++) mean += h[i * n + i]! / n;
    for (let i = 0; i < n; i++) h[i * n + i] -= 0.5 * mean; // clearly indefinite
    // expected: the first λ = pct·mean (pct = 0.01, 0.1, 1, …) for which the reference factorization succeeds
    let expected = 0;
    for (let a = 1, pct = 0.01; a <= 7; a++, pct *= 10) {
      const hd = Float64Array.from(h);
      for (let i = 0; i < n; i++) hd[i * n + i] += pct * mean;
      if ('u' in upperCholeskyOfInverse(hd, n)) {
        expected = a;
        break;
      }
    }
    expect(expected).toBeGreaterThan(1);
    const w = { rows: 8, cols: n, data: new Rng(5).normals(8 * n) };
    const r = gptqQuantize(
      w,
      { n, data: h },
      { scheme: { format: 'int', bits: 4, granularity: 'token', symmetric: false }, proxyLoss: false },
    );
    expect(r.damping.attempts).toBe(expected);
    expect(r.damping.extra).toBe(true);
  });
});

describe.skipIf(!wasmF64Available())('worker threads (setF64Threads)', () => {
  it('2 threads: gemmSub equals the single-threaded result and the blocked U equals the reference', () => {
    const [m, n, k] = [517, 301, 300]; // 5 row chunks of 128 + an edge, two depth chunks
    const rng = new Rng(11);
    const a = Float64Array.from(rng.normals(m * k));
    const b = Float64Array.from(rng.normals(k * n));
    const run = () => {
      const ws = new F64Workspace(m * n, n, { maxM: m });
      const c = ws.alloc(m * n);
      ws.gemmSub(c, n, m, n, k, { data: a, off: 0, rs: k, cs: 1 }, { data: b, off: 0, rs: n, cs: 1 });
      return ws.view(c, m * n).slice();
    };
    const one = run();
    const spd = randomSpd(300, 12);
    setF64Threads(2);
    try {
      const two = run();
      expect(maxAbsDiff(one, two)).toBe(0); // same tiles, same summation order, other threads
      const got = upperCholeskyOfInverseBlocked(spd, 300);
      const ref = upperCholeskyOfInverse(spd, 300);
      if (!('u' in got) || !('u' in ref)) throw new Error('unexpected failure');
      expect(maxAbsDiff(got.u, ref.u) / maxAbs(ref.u)).toBeLessThan(1e-12);
    } finally {
      setF64Threads(1);
    }
    // and the definition: C = −A·B
    let worst = 0;
    for (let i = 0; i < m; i += 37)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s -= a[i * k + p]! * b[p * n + j]!;
        worst = Math.max(worst, Math.abs(one[i * n + j]! - s));
      }
    expect(worst).toBeLessThan(1e-11);
  });
});
