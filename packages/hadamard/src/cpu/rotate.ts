import { assertMatrix, firstNonFinite, type Matrix, NqInputError, zeros } from '@nq/core';
import { type CompiledRotation, type CompiledStage, compileRotation, type RotationSpec } from '../spec.js';
import { fwht, fwhtBatch } from './fwht.js';
import { mixKronecker } from './kronecker.js';
import { applyOrthogonalBlock } from './orthogonal.js';
import { type WasmFwht, wasmFwht } from './wasm-fwht.js';

export interface RotateOptions {
  /** Apply R⁻¹ = Rᵀ instead of R. */
  inverse?: boolean;
  /** Output matrix of the same shape; pass `x` itself to rotate in place. Default: a new matrix. */
  out?: Matrix;
  /** Reject NaN/Inf in x with an NqInputError (default true). */
  checkFinite?: boolean;
  /** Use the WebAssembly SIMD kernel where it applies (default true; false forces plain TypeScript). */
  simd?: boolean;
}

/** A spec or an already compiled rotation (compileRotation) — compiled specs skip re-validation. */
export type RotationLike = RotationSpec | CompiledRotation;

export function asCompiled(r: RotationLike, name = 'spec'): CompiledRotation {
  return (r as CompiledRotation).stages && (r as CompiledRotation).spec
    ? (r as CompiledRotation)
    : compileRotation(r as RotationSpec, name);
}

/**
 * x ↦ x·R (or x·Rᵀ with inverse) on every row of x (rows × dim). Activations and weights alike:
 * W ↦ W·R keeps (x·R)(W·R)ᵀ = x·Wᵀ. Out of place, each row is copied, checked and transformed while
 * it is in cache (one read of x, one write of out); in place, x is checked up front so a bad value
 * never leaves x half-rotated.
 */
export function rotate(x: Matrix, spec: RotationLike, options: RotateOptions = {}): Matrix {
  const rot = asCompiled(spec);
  assertMatrix(x, 'x');
  if (x.cols !== rot.dim) {
    throw new NqInputError(
      'x',
      `has ${x.cols} columns but the rotation has dim ${rot.dim}`,
      'Rotate matrices whose rows have dim channels (tokens × dim activations, out × dim weights).',
    );
  }
  const out = options.out ?? zeros(x.rows, x.cols);
  if (options.out) {
    assertMatrix(out, 'out');
    if (out.rows !== x.rows || out.cols !== x.cols) {
      throw new NqInputError(
        'out',
        `has shape ${out.rows}×${out.cols}, x has ${x.rows}×${x.cols}`,
        'Pass an output of the same shape (or x itself for in place).',
      );
    }
  }
  const check = options.checkFinite !== false;
  const inPlace = out.data === x.data;
  if (check && inPlace) {
    const bad = firstNonFinite(x.data);
    if (bad >= 0) throwNonFinite(x, bad);
  }
  const n = rot.dim;
  const inverse = options.inverse === true;
  const only = rot.stages.length === 1 ? rot.stages[0]! : null;
  // WebAssembly SIMD for single Hadamard stages with chunks of ≥ 4 (vec4) — power of two, block
  // diagonal or Kronecker; cascades and orthogonal stages take the TypeScript row path.
  if (
    only &&
    only.kind === 'hadamard' &&
    only.p >= 4 &&
    only.block <= 1 << 16 &&
    n <= 1 << 20 &&
    options.simd !== false
  ) {
    const w = wasmFwht();
    if (w) {
      rotateWasm(w, x, out, only, n, inverse, check && !inPlace);
      return out;
    }
  }
  // Batched only for small chunks, where per-chunk call overhead dominates (H100 host, run 4: n = 128
  // 0.7 → 1.7 GB/s); n = 256 and 1024 measured no better batched, so larger chunks keep the row path.
  if (only && only.kind === 'hadamard' && only.m === 1 && only.p >= 8 && only.p <= BATCH_MAX_CHUNK) {
    rotateBatched(x, out, only, n, inverse, check && !inPlace);
    return out;
  }
  const work = new RowWork(rot);
  for (let r = 0; r < x.rows; r++) {
    const off = r * n;
    const finite = work.row(x.data, off, out.data, off, inverse);
    // Out of place, a non-finite input shows up in the first stage's output (see RowWork.row).
    if (check && !inPlace && !finite) {
      const bad = firstNonFiniteIn(x.data, off, n);
      if (bad >= 0) throwNonFinite(x, off + bad);
    }
  }
  return out;
}

/** x ↦ x·Rᵀ = x·R⁻¹. */
export function rotateInverse(
  x: Matrix,
  spec: RotationLike,
  options: Omit<RotateOptions, 'inverse'> = {},
): Matrix {
  return rotate(x, spec, { ...options, inverse: true });
}

/**
 * Rotates the *output* side of a weight: W (dim × in, Y = X·Wᵀ has dim channels) ↦ Rᵀ·W, so that the
 * layer's output comes out rotated, Y ↦ Y·R. With inverse: W ↦ R·W. (Transpose, rotate rows, transpose.)
 */
export function rotateLeft(w: Matrix, spec: RotationLike, options: Omit<RotateOptions, 'out'> = {}): Matrix {
  const rot = asCompiled(spec);
  assertMatrix(w, 'w');
  if (w.rows !== rot.dim) {
    throw new NqInputError(
      'w',
      `has ${w.rows} rows but the rotation has dim ${rot.dim}`,
      'rotateLeft rotates the rows (output channels) of w: pass a dim × in matrix.',
    );
  }
  const t = transposeBlocked(w);
  rotate(t, rot, { ...options, out: t });
  return transposeBlocked(t);
}

function transposeBlocked(m: Matrix): Matrix {
  const out = zeros(m.cols, m.rows);
  const B = 32;
  for (let i0 = 0; i0 < m.rows; i0 += B)
    for (let j0 = 0; j0 < m.cols; j0 += B) {
      const i1 = Math.min(m.rows, i0 + B);
      const j1 = Math.min(m.cols, j0 + B);
      for (let i = i0; i < i1; i++)
        for (let j = j0; j < j1; j++) out.data[j * m.rows + i] = m.data[i * m.cols + j]!;
    }
  return out;
}

/** Floats per batch of the WebAssembly path (64 KiB: the batch stays in L2 while it is transformed). */
const WASM_BATCH_FLOATS = 16384;

/**
 * One Hadamard stage (any block: power of two or Kronecker m·p, p ≥ 4) on the WebAssembly SIMD
 * kernels: copy a batch of rows into the module's memory, transform there, copy out.
 *   forward: every p-chunk gets fwht with signs·scale fused (one call for the whole batch when the
 *            stage is a full-row power of two or has no signs), then mix (H_m) per block;
 *   inverse: mix with H_mᵀ, fwht with the plain scale, signs multiplied while copying out.
 * Module memory: [0, n) pre-multiplier, [n, 2n) signs for after, then H_m (m²), scratch (b), batch.
 */
function rotateWasm(
  w: WasmFwht,
  x: Matrix,
  out: Matrix,
  st: CompiledStage,
  n: number,
  inverse: boolean,
  check: boolean,
): void {
  const { m, p, block: b } = st;
  const rowsPerBatch = Math.max(1, Math.floor(WASM_BATCH_FLOATS / n));
  const hOff = 2 * n;
  const scrOff = hOff + m * m;
  const dataOff = scrOff + (m > 1 ? b : 0);
  const needBytes = (dataOff + rowsPerBatch * n) * 4;
  if (w.memory.buffer.byteLength < needBytes)
    w.memory.grow(Math.ceil((needBytes - w.memory.buffer.byteLength) / 65536));
  const mem = new Float32Array(w.memory.buffer);
  for (let i = 0; i < n; i++) {
    const sgn = st.signs ? st.signs[i]! : 1;
    mem[i] = inverse ? st.scale : sgn * st.scale;
    mem[n + i] = sgn;
  }
  if (m > 1) mem.set(st.hm!, hOff);
  const uniformPre = inverse || st.signs === null; // the pre-multiplier is the same for every chunk
  const postSigns = inverse && st.signs !== null;
  for (let r0 = 0; r0 < x.rows; r0 += rowsPerBatch) {
    const rows = Math.min(rowsPerBatch, x.rows - r0);
    const off = r0 * n;
    const len = rows * n;
    mem.set(x.data.subarray(off, off + len), dataOff);
    if (m === 1 && (p === n || uniformPre)) {
      w.fwht(dataOff * 4, p, len / p, 0);
    } else {
      for (let r = 0; r < rows; r++) {
        for (let blk = 0; blk < n; blk += b) {
          const at = dataOff + r * n + blk;
          if (inverse && m > 1) w.mix(at * 4, scrOff * 4, hOff * 4, m, p, 1);
          if (uniformPre) w.fwht(at * 4, p, m, 0);
          else for (let c = 0; c < b; c += p) w.fwht((at + c) * 4, p, 1, (blk + c) * 4);
          if (!inverse && m > 1) w.mix(at * 4, scrOff * 4, hOff * 4, m, p, 0);
        }
      }
    }
    if (check) {
      // A NaN/Inf input makes the first output of its block non-finite.
      for (let r = 0; r < rows; r++)
        for (let blk = 0; blk < n; blk += b) {
          const v = mem[dataOff + r * n + blk]!;
          if (v - v !== 0) {
            const bad = firstNonFiniteIn(x.data, off + r * n, n);
            if (bad >= 0) throwNonFinite(x, off + r * n + bad);
          }
        }
    }
    if (postSigns) {
      const o = out.data;
      for (let r = 0; r < rows; r++) {
        const ro = r * n;
        for (let i = 0; i < n; i++) o[off + ro + i] = mem[dataOff + ro + i]! * mem[n + i]!;
      }
    } else {
      out.data.set(mem.subarray(dataOff, dataOff + len), off);
    }
  }
}

/** Floats per batch of the batched path (fits L1 with room to spare), and the largest chunk it takes. */
const BATCH_FLOATS = 4096;
const BATCH_MAX_CHUNK = 128;

/**
 * Single power-of-two Hadamard stage (randomHadamard / blockHadamard with p ≤ 4096): transform
 * batches of whole rows with one call per butterfly pass (fwhtBatch), reading x and writing out once.
 */
function rotateBatched(
  x: Matrix,
  out: Matrix,
  st: CompiledStage,
  n: number,
  inverse: boolean,
  check: boolean,
): void {
  const p = st.p;
  const rowsPerBatch = Math.max(1, Math.floor(BATCH_FLOATS / n));
  const chunksPerRow = n / p;
  for (let r0 = 0; r0 < x.rows; r0 += rowsPerBatch) {
    const rows = Math.min(rowsPerBatch, x.rows - r0);
    const off = r0 * n;
    fwhtBatch(out.data, off, rows * chunksPerRow, p, st.signs, n, st.scale, inverse, x.data, off);
    if (check) {
      // A NaN/Inf input makes its chunk's first output non-finite (every output mixes all inputs).
      for (let c = 0; c < rows * chunksPerRow; c++) {
        const v = out.data[off + c * p]!;
        if (v - v !== 0) {
          const row = r0 + Math.floor(c / chunksPerRow);
          const bad = firstNonFiniteIn(x.data, row * n, n);
          if (bad >= 0) throwNonFinite(x, row * n + bad);
        }
      }
    }
  }
}

function firstNonFiniteIn(d: Float32Array, off: number, n: number): number {
  for (let i = 0; i < n; i++) {
    const v = d[off + i]!;
    if (v - v !== 0) return i;
  }
  return -1;
}

function throwNonFinite(x: Matrix, index: number): never {
  throw new NqInputError(
    'x',
    `contains ${x.data[index]} at row ${Math.floor(index / x.cols)}, col ${index % x.cols}`,
    'Remove or replace non-finite values before rotating.',
  );
}

/**
 * Applies all stages of a rotation to one row at a time (the row stays in cache across stages).
 * Scratch buffers are made once per call, never per row.
 */
export class RowWork {
  private readonly mixScratch: Float32Array;
  private readonly orthoScratch: Float64Array;
  constructor(private readonly rot: CompiledRotation) {
    let mix = 0;
    let ortho = 0;
    for (const st of rot.stages) {
      if (st.kind === 'hadamard' && st.m > 1) mix = Math.max(mix, st.block);
      if (st.kind === 'orthogonal') ortho = Math.max(ortho, st.block);
    }
    this.mixScratch = new Float32Array(mix);
    this.orthoScratch = new Float64Array(ortho);
  }

  /**
   * Rotates src[sOff, sOff+dim) into d[off, off+dim) (src may be d). Returns false when a non-finite
   * value may be in the input: after the first applied stage every output of a Hadamard block is a
   * ±1 combination of all its inputs, so a NaN/Inf anywhere in a block makes the block's first output
   * non-finite — one comparison per block instead of a scan. (A first stage that is not a Hadamard
   * stage scans the row.) The caller scans the input to locate the value.
   */
  row(src: Float32Array, sOff: number, d: Float32Array, off: number, inverse: boolean): boolean {
    const stages = this.rot.stages;
    const n = this.rot.dim;
    let finite = true;
    for (let s = 0; s < stages.length; s++) {
      const st = stages[inverse ? stages.length - 1 - s : s]!;
      const b = st.block;
      const first = s === 0;
      const from = first ? src : d;
      const fromOff = first ? sOff : off;
      if (st.kind === 'orthogonal' || b === 1 || (inverse && st.m > 1)) {
        if (first) {
          for (let i = 0; i < n; i++) {
            const v = src[sOff + i]!;
            if (v - v !== 0) finite = false;
            d[off + i] = v;
          }
        }
      }
      if (st.kind === 'orthogonal') {
        for (let blk = 0; blk < n; blk += b)
          applyOrthogonalBlock(d, off + blk, b, st.matrices!, blk * b, inverse, this.orthoScratch);
        continue;
      }
      if (b === 1) {
        if (st.signs) for (let i = 0; i < n; i++) d[off + i] = d[off + i]! * st.signs[i]!;
        continue;
      }
      const { m, p } = st;
      for (let blk = 0; blk < n; blk += b) {
        if (inverse && m > 1) {
          mixKronecker(d, off + blk, m, p, st.hm!, true, this.mixScratch);
          for (let c = 0; c < b; c += p) fwht(d, off + blk + c, p, st.signs, blk + c, st.scale, true);
        } else {
          for (let c = 0; c < b; c += p)
            fwht(d, off + blk + c, p, st.signs, blk + c, st.scale, inverse, from, fromOff + blk + c);
          if (m > 1) mixKronecker(d, off + blk, m, p, st.hm!, false, this.mixScratch);
        }
        if (first) {
          const v = d[off + blk]!;
          if (v - v !== 0) finite = false;
        }
      }
    }
    return finite;
  }
}

/** Raw in-place FWHT of every length-n row of `data` (unnormalized; n a power of two). */
export function fwhtRows(data: Float32Array, n: number, scale = 1): void {
  if (data.length % n !== 0)
    throw new NqInputError(
      'data',
      `has ${data.length} values, not a multiple of n = ${n}`,
      'Pass whole rows.',
    );
  for (let off = 0; off < data.length; off += n) fwht(data, off, n, null, 0, scale);
}
