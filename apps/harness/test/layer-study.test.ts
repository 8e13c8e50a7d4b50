import fs from 'node:fs';
import path from 'node:path';
import { hasShared, sharedPath } from '@nq/core/testing';
import { describe, expect, it } from 'vitest';
import { KernelMemo } from '../src/studies/kernel-study.js';
import { runLayerCell } from '../src/studies/layer-study.js';
import type { LayerCell } from '../src/sweep/cell.js';
import { expandGrid } from '../src/sweep/grid.js';
import { parseSweep } from '../src/sweep/load.js';
import { cpuOps } from '../src/techniques/ops.js';
import { SHARED } from './helpers.js';

const MODEL_DIR = path.join(SHARED, 'models/nq-docs-5M');
const REF = path.join(MODEL_DIR, 'nq-docs-5M.ref.json');
const have = hasShared(REF, sharedPath('data/docs-valid.txt'));

describe.skipIf(!have)('layer-level cells on nq-docs-5M', () => {
  it("captures the real linear inputs: statistics equal ref.json's (same prompt, PyTorch reference)", async () => {
    const sweep = parseSweep({
      name: 'l',
      layers: {
        models: [path.join(MODEL_DIR, 'nq-docs-5M.bin')],
        text: 'docs-valid',
        tokens: 64,
        taps: ['attn_in', 'ffn_in', 'down_in'],
        rotations: ['none'],
        act: ['int8-token'],
      },
    });
    const cells = expandGrid(sweep).cells.map((c) => c.spec as LayerCell);
    expect(cells).toHaveLength(4 * 3);
    const ref = JSON.parse(fs.readFileSync(REF, 'utf8')).linear_input_stats as {
      layer: number;
      tap: string;
      absmax: number;
      median_abs: number;
      top_channel_max_over_median: number;
      kurtosis: number;
    }[];
    const memo = new KernelMemo();
    const ops = cpuOps();
    for (const c of cells) {
      const m = (await runLayerCell(c, ops, memo)).metrics;
      const r = ref.find((x) => x.layer === c.layer && x.tap === c.tap)!;
      // ref.json rounds to 3–4 significant digits.
      const close = (a: number, b: number, what: string) =>
        expect(Math.abs(a - b) / b, `L${c.layer} ${c.tap} ${what}: ${a} vs ${b}`).toBeLessThan(0.01);
      close(m.x_kurtosis!, r.kurtosis, 'kurtosis');
      close(m.x_top_channel_ratio!, r.top_channel_max_over_median, 'top-channel ratio');
      close(m.x_absmax_over_median!, r.absmax / r.median_abs, 'absmax/median');
      expect(m.channels).toBe(c.tap === 'down_in' ? 768 : 256);
    }
  });

  it('leaves out blocks that do not divide a tap (512 on 768 hidden channels) with a note', () => {
    const sweep = parseSweep({
      name: 'l2',
      layers: {
        models: [path.join(MODEL_DIR, 'nq-docs-5M.bin')],
        layers: [0],
        taps: ['attn_in', 'down_in'],
        rotations: ['bhad512', 'bhad256'],
        act: ['int4-token'],
      },
    });
    const g = expandGrid(sweep);
    // attn_in has 256 channels: bhad512 out, bhad256 in; down_in has 768: bhad512 out, bhad256 in.
    expect(
      g.cells.map((c) => `${(c.spec as LayerCell).tap}:${(c.spec as LayerCell).rotation.name}`).sort(),
    ).toEqual(['attn_in:bhad256', 'down_in:bhad256']);
    expect(g.notes.join('\n')).toContain(
      'block of bhad512 on attn_in (256 channels) does not divide the channels',
    );
  });
});
