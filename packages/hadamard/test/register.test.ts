import { getKernel } from '@nq/core';
import { describe, expect, it } from 'vitest';
import { randomHadamard, rotate } from '../src/index.js';
import { ROTATE_OP } from '../src/register.js';
import { gaussian } from './helpers.js';

describe('kernel registry', () => {
  it('registers hadamard.rotate for cpu, webgpu and gpujs; the cpu entry is rotate', () => {
    const cpu = getKernel<typeof rotate>(ROTATE_OP, 'cpu');
    const x = gaussian(2, 64, 1);
    const spec = randomHadamard(64, 2);
    expect(Array.from(cpu.fn(x, spec).data)).toEqual(Array.from(rotate(x, spec).data));
    expect(getKernel(ROTATE_OP, 'webgpu').capabilities).toBeDefined();
    expect(getKernel(ROTATE_OP, 'gpujs').capabilities).toBeDefined();
  });
});
