import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NqInputError } from '@nq/core';
import { hasShared, sharedModelFiles } from '@nq/core/testing';
import { describe, expect, it } from 'vitest';
import { openDocsTable } from '../src/model/docs-table.js';
import { scoreCandidate } from '../src/model/evaluate-model.js';

const have = hasShared(sharedModelFiles().bin);

describe('openDocsTable (the table scripts’ shared setup)', () => {
  it('names the missing shared folder with a typed error', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'nq-docs-'));
    await expect(openDocsTable({ windows: 1, sharedDir: empty, log: () => {} })).rejects.toThrow(
      NqInputError,
    );
    await expect(openDocsTable({ windows: 1, sharedDir: empty, log: () => {} })).rejects.toThrow(/sharedDir/);
  });

  it.skipIf(!have)(
    '2 spread windows of 256 on docs-valid, 2 calibration sequences; FP scores KLD 0',
    async () => {
      const d = await openDocsTable({ windows: 2, calib: 2, seed: 0, log: () => {} });
      expect(d.reference.windows.map((w) => w.length)).toEqual([256, 256]);
      // 'spread': the second window starts half-way through the full windows of the text.
      const all = Math.floor(d.tokens.length / 256);
      expect(d.reference.windows[1]!.start).toBe(Math.floor(all / 2) * 256);
      expect(d.calibration.map((c) => c.length)).toEqual([256, 256]);
      const s = scoreCandidate(d.reference, d.model);
      expect(s.positions).toBe(510);
      expect(Math.abs(s.kld_mean)).toBeLessThan(1e-6);
      expect(s.top1).toBe(1);
    },
  );
});
