import { NqInputError } from '@nq/core';
import { randomModel, TINY_CONFIG } from '@nq/model';
import { fakeQuant } from '@nq/quant-fp';
import { describe, expect, it } from 'vitest';
import { allocateRoles, mixedRoleModel, type RoleSensitivity } from '../src/index.js';

const sens = (role: RoleSensitivity['role'], deltaKld: number, extra: number): RoleSensitivity => ({
  role,
  kld: 0,
  kldSe: 0,
  deltaKld,
  extraBitsPerParam: extra,
  gainPerBit: deltaKld / extra,
});

describe('mixed precision by role', () => {
  it('greedy allocation by gain per bit under the budget', () => {
    const s = [sens('k', 0.004, 0.5), sens('down', 0.006, 1.5), sens('q', 0.003, 2), sens('up', -0.001, 0.5)];
    // gain/bit: k 0.008, down 0.004, q 0.0015, up < 0 (never raised)
    expect(allocateRoles(s, 4, 4.5)).toEqual({ high: ['k'], bitsPerParam: 4.5 });
    expect(allocateRoles(s, 4, 6)).toEqual({ high: ['k', 'down'], bitsPerParam: 6 });
    expect(allocateRoles(s, 4, 100).high).toEqual(['k', 'down', 'q']);
    expect(allocateRoles(s, 4, 4).high).toEqual([]);
    expect(() => allocateRoles(s, 4, 3)).toThrow(NqInputError);
  });

  it('mixedRoleModel quantizes each role with its width', () => {
    const m = randomModel(TINY_CONFIG, 3);
    const lo = (w: (typeof m.weights.layers)[0]['q']) =>
      fakeQuant(w, { format: 'int', bits: 2, granularity: 'token', symmetric: true });
    const hi = (w: (typeof m.weights.layers)[0]['q']) =>
      fakeQuant(w, { format: 'int', bits: 8, granularity: 'token', symmetric: true });
    const mm = mixedRoleModel(m, new Set(['k', 'down']), lo, hi);
    m.weights.layers.forEach((L, l) => {
      expect(mm.weights.layers[l]!.k.data).toEqual(hi(L.k).data);
      expect(mm.weights.layers[l]!.down.data).toEqual(hi(L.down).data);
      expect(mm.weights.layers[l]!.q.data).toEqual(lo(L.q).data);
      expect(mm.weights.layers[l]!.q.data).not.toEqual(hi(L.q).data);
    });
  });
});
