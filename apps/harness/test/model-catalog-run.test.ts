import fs from 'node:fs';
import path from 'node:path';
import { hasShared, sharedModelFiles, sharedPath } from '@nq/core/testing';
import { describe, expect, it } from 'vitest';
import { sweepCommand } from '../src/commands/sweep.js';
import { ResultsStore } from '../src/store/results-store.js';
import { tmpDir } from './helpers.js';

const model = sharedModelFiles().bin;
const have = hasShared(model, sharedPath('data/docs-calib.txt'));

describe.skipIf(!have)('catalog recipes through the sweep runner (nq-docs-5M, 1 window of 32 tokens)', () => {
  it('writes rows with bits per parameter and the format label; a rerun computes nothing', async () => {
    const dir = tmpDir('catalog');
    const file = path.join(dir, 'tiny.yaml');
    fs.writeFileSync(
      file,
      [
        'name: tiny-catalog',
        'kind: experiment',
        'hypothesis: Protecting k_proj at 8 bits lowers the KLD of INT3 weights.',
        'verdict: { metric: kld_mean, baseline: { recipe: rtn-w3a16-g128 }, treatment: { recipe: mixed-k8-rest3 }, min_effect: 0 }',
        'model:',
        `  models: [${model}]`,
        '  texts: [docs-valid]',
        '  ctx: 32',
        '  windows: 1',
        '  recipes: [q8_0, rtn-w3a16-g128, mixed-k8-rest3, "hdiag-a0.15+rtn-w3a16-g128;calib=1x32"]',
      ].join('\n'),
    );
    const out = path.join(dir, 'tiny.jsonl');
    const silent = { out, progress: false, log: () => {}, out_stream: () => {} };
    const r = await sweepCommand(file, silent);
    expect(r.summary.computed).toBe(4);
    const s = ResultsStore.openRead(out);
    const rows = s.latest();
    s.close();
    const by = Object.fromEntries(rows.map((x) => [x.labels.recipe, x]));
    expect(by.q8_0!.metrics.linear_bits_per_param).toBe(8.5);
    expect(by.q8_0!.labels.format).toBe('q8_0');
    expect(by['rtn-w3a16-g128']!.metrics.linear_bits_per_param).toBeCloseTo(3 + 35 / 128, 12);
    expect(by['mixed-k8-rest3']!.labels.format).toBe('mixed-k8-rest3');
    for (const x of rows) {
      expect(x.metrics.kld_mean).toBeGreaterThanOrEqual(0);
      expect(x.metrics.bits_per_param).toBeGreaterThan(x.metrics.linear_bits_per_param!);
      expect(x.metrics.tokens_scored).toBe(31);
    }
    // Q8_0 is far closer to FP than INT3.
    expect(by.q8_0!.metrics.kld_mean).toBeLessThan(by['rtn-w3a16-g128']!.metrics.kld_mean! / 10);
    // The hdiag row calibrated and kept the INT3 format label (a verdict pairs it with plain RTN).
    expect(by['hdiag-a0.15+rtn-w3a16-g128;calib=1x32']!.labels.format).toBe('w3a16-g128');
    expect(by['hdiag-a0.15+rtn-w3a16-g128;calib=1x32']!.provenance.seeds.calibration).toBe(0);
    const again = await sweepCommand(file, silent);
    expect(again.summary.computed).toBe(0);
  }, 60_000);
});
