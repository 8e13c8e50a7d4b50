import { describe, expect, it } from 'vitest';
import {
  assertFinite,
  assertMatrix,
  assertShape,
  firstNonFinite,
  matmulABt,
  matrix,
  NqInputError,
  transpose,
  zeros,
} from '../src/index.js';

describe('Matrix validation', () => {
  it('matrix() checks the length against the shape', () => {
    expect(matrix(2, 3, [1, 2, 3, 4, 5, 6]).data[5]).toBe(6);
    expect(() => matrix(2, 3, [1, 2, 3])).toThrow(/has 3 elements but a 2×3 matrix needs 6/);
    expect(() => zeros(-1, 2)).toThrow(NqInputError);
    expect(() => zeros(1.5, 2)).toThrow(NqInputError);
  });

  it('assertMatrix rejects non-matrices and inconsistent lengths, naming the argument', () => {
    expect(() => assertMatrix({ rows: 2, cols: 2, data: [1, 2, 3, 4] }, 'x')).toThrow(/^x: is not a Matrix/);
    expect(() => assertMatrix({ rows: 2, cols: 2, data: new Float32Array(3) }, 'w')).toThrow(
      /^w: data has 3 elements/,
    );
    expect(() => assertShape(zeros(2, 3), 'x', 2, 4)).toThrow(/has shape 2×3, expected 2×4/);
    expect(() => assertShape(zeros(2, 3), 'x', -1, 3)).not.toThrow();
  });

  it('assertFinite names the first NaN/Inf by index and (row, col)', () => {
    const m = zeros(3, 4);
    expect(() => assertFinite(m, 'x')).not.toThrow();
    m.data[6] = Number.POSITIVE_INFINITY;
    m.data[9] = Number.NaN;
    expect(() => assertFinite(m, 'x')).toThrow(/x: contains Infinity at index 6 at row 1, col 2/);
    expect(firstNonFinite([1, 2, Number.NaN])).toBe(2);
    expect(() => assertFinite(new Float32Array([0, Number.NaN]), 'signs')).toThrow(
      /signs: contains NaN at index 1/,
    );
  });

  it('matmulABt and transpose agree with hand-computed products', () => {
    const a = matrix(2, 2, [1, 2, 3, 4]);
    const b = matrix(2, 2, [5, 6, 7, 8]);
    // [1 2;3 4]·[5 6;7 8]ᵀ = [1·5+2·6, 1·7+2·8; 3·5+4·6, 3·7+4·8]
    expect(Array.from(matmulABt(a, b).data)).toEqual([17, 23, 39, 53]);
    expect(Array.from(transpose(matrix(2, 3, [1, 2, 3, 4, 5, 6])).data)).toEqual([1, 4, 2, 5, 3, 6]);
    expect(() => matmulABt(a, zeros(2, 3))).toThrow(NqInputError);
  });
});
