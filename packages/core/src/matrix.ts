import { NqInputError } from './errors.js';

/**
 * A dense row-major float32 matrix. Activations are tokens × channels; weights are out × in, so a
 * linear layer computes Y = X · Wᵀ. `data.length === rows * cols` always.
 */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float32Array;
}

/** A zero-filled matrix. */
export function zeros(rows: number, cols: number): Matrix {
  checkDim('rows', rows);
  checkDim('cols', cols);
  return { rows, cols, data: new Float32Array(rows * cols) };
}

/** Wraps (does not copy) `data` as a rows × cols matrix, checking that the length fits. */
export function matrix(rows: number, cols: number, data: Float32Array | number[], name = 'data'): Matrix {
  checkDim('rows', rows);
  checkDim('cols', cols);
  const arr = data instanceof Float32Array ? data : Float32Array.from(data);
  if (arr.length !== rows * cols) {
    throw new NqInputError(
      name,
      `has ${arr.length} elements but a ${rows}×${cols} matrix needs ${rows * cols}`,
      'Pass rows·cols values in row-major order.',
    );
  }
  return { rows, cols, data: arr };
}

export function cloneMatrix(m: Matrix): Matrix {
  return { rows: m.rows, cols: m.cols, data: m.data.slice() };
}

function checkDim(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) {
    throw new NqInputError(
      name,
      `must be a non-negative integer, got ${v}`,
      'Pass the matrix dimension as an integer.',
    );
  }
}

/** Throws unless `m` is a well-formed Matrix (integer dims, Float32Array of the right length). */
export function assertMatrix(m: unknown, name: string): asserts m is Matrix {
  const mm = m as Matrix;
  if (!mm || typeof mm !== 'object' || !(mm.data instanceof Float32Array)) {
    throw new NqInputError(
      name,
      'is not a Matrix { rows, cols, data: Float32Array }',
      'Build it with matrix(rows, cols, data).',
    );
  }
  if (!Number.isInteger(mm.rows) || !Number.isInteger(mm.cols) || mm.rows < 0 || mm.cols < 0) {
    throw new NqInputError(
      name,
      `has invalid shape ${mm.rows}×${mm.cols}`,
      'rows and cols must be non-negative integers.',
    );
  }
  if (mm.data.length !== mm.rows * mm.cols) {
    throw new NqInputError(
      name,
      `data has ${mm.data.length} elements but shape ${mm.rows}×${mm.cols} needs ${mm.rows * mm.cols}`,
      'Make data.length equal rows·cols.',
    );
  }
}

/** Throws unless `m` has exactly the given shape (use -1 for "any"). */
export function assertShape(m: Matrix, name: string, rows: number, cols: number): void {
  assertMatrix(m, name);
  if ((rows >= 0 && m.rows !== rows) || (cols >= 0 && m.cols !== cols)) {
    const want = `${rows < 0 ? 'any' : rows}×${cols < 0 ? 'any' : cols}`;
    throw new NqInputError(
      name,
      `has shape ${m.rows}×${m.cols}, expected ${want}`,
      'Pass a matrix of the expected shape.',
    );
  }
}

/** Throws unless the matrix is not empty. */
export function assertNonEmpty(m: Matrix, name: string): void {
  if (m.rows === 0 || m.cols === 0) {
    throw new NqInputError(name, `is empty (${m.rows}×${m.cols})`, 'Pass at least one row and one column.');
  }
}

/** Index of the first NaN or ±Inf in `data`, or -1. */
export function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    // v - v is NaN exactly when v is NaN or ±Inf; one subtraction beats two Number.isFinite calls.
    if (v - v !== 0) return i;
  }
  return -1;
}

/**
 * Throws an NqInputError naming the first NaN/Inf element. For a matrix the position is given as
 * (row, col) as well as the flat index.
 */
export function assertFinite(x: Matrix | ArrayLike<number>, name: string): void {
  const isMat = (x as Matrix).data instanceof Float32Array && typeof (x as Matrix).cols === 'number';
  const data = isMat ? (x as Matrix).data : (x as ArrayLike<number>);
  const i = firstNonFinite(data);
  if (i < 0) return;
  const where = isMat ? ` at row ${Math.floor(i / (x as Matrix).cols)}, col ${i % (x as Matrix).cols}` : '';
  throw new NqInputError(
    name,
    `contains ${data[i]} at index ${i}${where}`,
    'Remove or replace non-finite values before quantizing or rotating.',
  );
}

/** Reference product Y = A · Bᵀ (A: m×k, B: n×k). Plain and exact-order; for tests and small sizes. */
export function matmulABt(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.cols) {
    throw new NqInputError(
      'b',
      `has ${b.cols} columns but a has ${a.cols}`,
      'A·Bᵀ needs equal inner dimensions.',
    );
  }
  const out = zeros(a.rows, b.rows);
  const k = a.cols;
  for (let i = 0; i < a.rows; i++) {
    const ao = i * k;
    for (let j = 0; j < b.rows; j++) {
      const bo = j * k;
      let s = 0;
      for (let t = 0; t < k; t++) s += a.data[ao + t]! * b.data[bo + t]!;
      out.data[i * b.rows + j] = s;
    }
  }
  return out;
}

/** Transpose into a new matrix. */
export function transpose(m: Matrix): Matrix {
  const out = zeros(m.cols, m.rows);
  for (let i = 0; i < m.rows; i++)
    for (let j = 0; j < m.cols; j++) out.data[j * m.rows + i] = m.data[i * m.cols + j]!;
  return out;
}
